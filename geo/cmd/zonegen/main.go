// Command zonegen writes the APPROXIMATE demo zone layers of Miyun Reservoir
// (密云水库), made by package zonegen, to a directory:
//
//	go run ./geo/cmd/zonegen -out testdata/zones
//
// The geometry is invented; see package zonegen and testdata/zones/README.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/baoshui/baoshui/geo/zonegen"
)

func main() {
	out := flag.String("out", "testdata/zones", "directory to write the layers to")
	flag.Parse()
	files, err := zonegen.Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "zonegen:", err)
		os.Exit(1)
	}
	for _, name := range zonegen.Files {
		if err := os.WriteFile(filepath.Join(*out, name), files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "zonegen:", err)
			os.Exit(1)
		}
	}
}
