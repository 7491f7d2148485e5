package api

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"
)

// caseDossier answers GET /cases/{id}/dossier: the case file as one ZIP
// archive (full-process recording) that a person can check with a tool we
// did not write, `sha256sum -c MANIFEST.sha256` in the unpacked directory:
//
//   - case.json: the case as the caller may see it, with every step;
//   - steps/NN-action.json: each step on its own;
//   - documents/{sha256}: each document a step attached, its bytes as
//     stored (content-addressed: its name is the hash it must have);
//   - MANIFEST.sha256: "hash  path" for every file above. The hash of a
//     document is its address, not a hash of what was read, so a document
//     altered in the store fails the check and the check names it;
//   - MISSING.txt, when a document was never uploaded completely.
func (s *server) caseDossier(c *gin.Context) {
	k, rev, ok := s.visibleCase(c)
	if !ok {
		return
	}
	k = shown(c, k)
	name := k.ID
	if k.CaseNo != "" {
		name = k.CaseNo
	}
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", fmt.Sprintf("attachment; filename=\"%s.zip\"; filename*=UTF-8''%s.zip",
		strings.Map(func(r rune) rune {
			if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
				return '_'
			}
			return r
		}, name), url.PathEscape(name)))
	c.Status(http.StatusOK)
	zw := zip.NewWriter(c.Writer)
	var manifest []string
	put := func(path string, b []byte) error {
		w, err := zw.Create(path)
		if err == nil {
			_, err = w.Write(b)
		}
		sum := sha256.Sum256(b)
		manifest = append(manifest, hex.EncodeToString(sum[:])+"  "+path)
		return err
	}
	fail := func(err error) {
		// The status is sent: the archive is cut short, which its reader
		// sees, and the log says why.
		s.Logger.Warn("dossier export failed", "case", k.ID, "err", err)
		c.Abort()
	}
	b, _ := json.MarshalIndent(struct {
		Case any `json:"case"`
		Rev  int `json:"rev"`
	}{k, rev}, "", "  ")
	if err := put("case.json", b); err != nil {
		fail(err)
		return
	}
	docs := map[string]bool{}
	for i, st := range k.Steps {
		b, _ := json.MarshalIndent(st, "", "  ")
		if err := put(fmt.Sprintf("steps/%02d-%s.json", i+1, st.Action), b); err != nil {
			fail(err)
			return
		}
		for _, d := range st.Documents {
			docs[strings.ToLower(d)] = true
		}
	}
	shas := make([]string, 0, len(docs))
	for d := range docs {
		shas = append(shas, d)
	}
	sort.Strings(shas)
	var missing []string
	for _, sha := range shas {
		r, _, err := s.Blobs.Open(c, sha)
		if err != nil {
			missing = append(missing, sha)
			continue
		}
		w, err := zw.Create("documents/" + sha)
		if err == nil {
			_, err = io.Copy(w, r)
		}
		if err != nil {
			fail(err)
			return
		}
		manifest = append(manifest, sha+"  documents/"+sha)
	}
	if len(missing) > 0 {
		if err := put("MISSING.txt", []byte("Documents the steps name that were never uploaded completely:\n"+strings.Join(missing, "\n")+"\n")); err != nil {
			fail(err)
			return
		}
	}
	w, err := zw.Create("MANIFEST.sha256")
	if err == nil {
		_, err = io.WriteString(w, strings.Join(manifest, "\n")+"\n")
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		fail(err)
	}
}
