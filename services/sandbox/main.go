// Command sandbox runs the vds sandbox service alone.
package main

import (
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/sandbox/server"
)

func main() { platform.Main(server.Service()) }
