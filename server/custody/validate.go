package custody

import "github.com/baoshui/baoshui/server/enforcement"

// MaxDocuments bounds the documents one step may attach.
const MaxDocuments = enforcement.MaxDocuments

// validation collects the offending fields of one input.
type validation struct {
	enforcement.Check
}
