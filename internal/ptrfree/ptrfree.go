// Package ptrfree says whether a type holds pointers the garbage
// collector would scan. Memory outside the Go heap (a huge-page mapping)
// may hold only values without them: the collector never sees that
// memory, so a pointer stored there would not keep its target alive.
// Control plane only: called once per table growth, never per packet.
package ptrfree

import "reflect"

// HasPointers reports whether a value of type t holds a pointer the
// garbage collector would scan (pointers, slices, maps, channels,
// functions, interfaces, strings), directly or in an array or struct.
func HasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface, reflect.String, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && HasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if HasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
