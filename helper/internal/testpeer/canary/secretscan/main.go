// Command secretscan reads test or demo output (files named as arguments, or stdin) and exits 1
// when it holds a planted credential (package canary) in plain, base64 or URL-encoded form, or
// a signed JWT. It names the line and the canary, never prints the line itself.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/shipgate/shipgate/helper/internal/testpeer/canary"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}

func run(files []string, stdin io.Reader, stderr io.Writer) int {
	type input struct {
		name string
		read func() ([]byte, error)
	}
	var inputs []input
	for _, f := range files {
		inputs = append(inputs, input{f, func() ([]byte, error) { return os.ReadFile(f) }})
	}
	if len(inputs) == 0 {
		inputs = append(inputs, input{"stdin", func() ([]byte, error) { return io.ReadAll(stdin) }})
	}
	leaks := 0
	for _, in := range inputs {
		data, err := in.read()
		if err != nil {
			fmt.Fprintf(stderr, "secretscan: %v\n", err)
			return 2
		}
		findings := canary.Scan(string(data))
		for _, f := range findings {
			fmt.Fprintf(stderr, "secretscan: %s:%d: %s (%s form)\n", in.name, f.Line, f.Name, f.Form)
		}
		leaks += len(findings)
		fmt.Fprintf(stderr, "secretscan: %s: %d bytes scanned, %d canaries in %d forms, %d leaks\n", in.name, len(data), len(canary.All()), formCount(), len(findings))
	}
	if leaks > 0 {
		return 1
	}
	return 0
}

func formCount() int {
	n := 0
	for _, v := range canary.All() {
		n += len(canary.Forms(v))
	}
	return n
}
