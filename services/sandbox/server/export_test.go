package server

// VersionTTL is versionTTL, for the tests.
const VersionTTL = versionTTL
