package cases

import "github.com/baoshui/baoshui/server/enforcement"

// MaxDocuments bounds the documents one step may attach.
const MaxDocuments = enforcement.MaxDocuments

// validation collects the offending fields of one input.
type validation struct {
	enforcement.Check
}

func (v *validation) circumstances(name string, c Circumstances, required bool) {
	switch c.Circumstance {
	case Minor, Ordinary, Serious:
	case "":
		if required {
			v.Add(name+".circumstance", "required: minor, ordinary or serious")
		}
	default:
		v.Add(name+".circumstance", "must be minor, ordinary or serious")
	}
	v.Text(name+".zone", c.Zone, 64, false)
}
