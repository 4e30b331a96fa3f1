package server

// VersionTTL is versionTTL, for the tests.
const VersionTTL = versionTTL

// PlantFile is plantFile, for the tests outside the package.
var PlantFile = plantFile
