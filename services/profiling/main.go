// Command profiling runs the vds profiling service alone.
package main

import (
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/profiling/server"
)

func main() { platform.Main(server.Service()) }
