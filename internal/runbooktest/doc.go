// Package runbooktest checks the runbooks kiln writes, for the embedded
// tier3 example and for the Slurm fixture that shares no code with it:
// every link and anchor resolves, every file a command names is in the
// build, and Chromium renders the self-contained HTML page to PNG and PDF.
// It has no code of its own, only tests.
package runbooktest
