#include <stddef.h>
#include <stdint.h>
/// SwiftPM links executables with `main` renamed to `<Module>_main`, so libFuzzer's own main is
/// never pulled in; each fuzz target's `<Module>_main` calls this, which runs libFuzzer's driver.
int tamas_run_libfuzzer(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));
