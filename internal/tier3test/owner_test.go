package tier3test

import (
	"io/fs"
	"syscall"
)

func ownerOf(st fs.FileInfo) (int, int) {
	s := st.Sys().(*syscall.Stat_t)
	return int(s.Uid), int(s.Gid)
}
