// Command auth runs the vds auth service alone.
package main

import (
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/auth/server"
)

func main() { platform.Main(server.Service()) }
