// Package winetest runs the real Windows build of Tidings under Wine, on
// Linux: the login window typed with xdotool against a real tidings-server
// on loopback, the token in Wine's Credential Manager, a message stored in
// history.db, "Start at login" in the registry, Quit from the tray menu.
// scripts/wine-test (make wine-test) prepares the prefix and the binaries
// and names them in TIDINGS_WINE_EXE and TIDINGS_WINE_KEYGET; without them
// the test skips, saying so.
package winetest
