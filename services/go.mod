module github.com/vdsproject/vds/services

go 1.26

replace (
	github.com/vdsproject/vds/gen => ../gen
	github.com/vdsproject/vds/libs => ../libs
)
