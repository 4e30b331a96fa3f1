// Package libs is the root of vds's shared building blocks; see the sub-packages.
package libs
