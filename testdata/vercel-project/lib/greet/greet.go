// Package greet is code the functions share, in another package of the
// project's module.
package greet

// Hello greets name.
func Hello(name string) string { return "Hello " + name + "!" }
