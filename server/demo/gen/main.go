// Command gen writes the Baoshui demo year (package demo) to a directory:
//
//	go run ./server/demo/gen -out testdata/demo2020 [-seed 2020]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/baoshui/baoshui/server/demo"
)

func main() {
	out := flag.String("out", "testdata/demo2020", "directory to write units.json, users.json and records.jsonl to")
	seed := flag.Int64("seed", demo.Seed, "generator seed; the committed data uses the default")
	flag.Parse()
	y := demo.Generate(*seed)
	if err := y.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d units, %d users, %d records to %s (seed %d)\n", len(y.Units), len(y.Users), len(y.Records), *out, *seed)
}
