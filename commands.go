package main

import (
	"fmt"
	"io"
)

func printVersion(w io.Writer) error {
	if _, err := fmt.Fprintln(w, version()); err != nil {
		return fmt.Errorf("print version: %w", err)
	}
	return nil
}
