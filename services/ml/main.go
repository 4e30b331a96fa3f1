// Command ml runs the vds ML service alone.
package main

import (
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/ml/server"
)

func main() { platform.Main(server.Service()) }
