#ifndef TAMAS_CLIBSSH2_SHIM_H
#define TAMAS_CLIBSSH2_SHIM_H
// libssh2 (Debian: libssh2-1-dev) for the SFTP recording download. The library's many
// function-like macros (libssh2_session_init, libssh2_sftp_open, ...) do not import into Swift;
// the Swift side calls their *_ex functions directly.
#include <libssh2.h>
#include <libssh2_sftp.h>
#endif
