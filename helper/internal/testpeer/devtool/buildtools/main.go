// Command buildtools builds every pinned dev tool (or the ones named) into the user cache, so a test
// run starts with them ready: `make tools`, which CI runs before the tests.
package main

import (
	"fmt"
	"os"

	"github.com/shipgate/shipgate/helper/internal/testpeer/devtool"
)

func main() {
	names := os.Args[1:]
	if len(names) == 0 {
		var err error
		if names, err = devtool.Names(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for _, name := range names {
		path, err := devtool.Path(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s: %s\n", name, path)
	}
}
