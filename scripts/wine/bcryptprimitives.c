/*
 * bcryptprimitives.dll for Wine 8.0, which lacks it (Wine added it in 8.13).
 * Go 1.22 and later call ProcessPrng from it at start for random bytes;
 * this forwards to BCryptGenRandom, which Wine 8.0 has. Test harness only:
 * scripts/wine-test copies it into the throwaway prefix's system32. Real
 * Windows (8 and later) ships its own.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
		if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
