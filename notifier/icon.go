package notifier

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"

	"github.com/tidings-app/tidings/assets"
	"github.com/tidings-app/tidings/internal/atomicfile"
)

// iconRGBA decodes a PNG and box-filters it down to at most size×size: the
// popup icon (its file, or the 16 KiB image-data hint when no file can be
// written) rather than the full 256 px icon.
func iconRGBA(data []byte, size int) (*image.RGBA, error) {
	src, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	b := src.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || size <= 0 {
		return nil, errors.New("notifier: empty icon")
	}
	f := max((max(b.Dx(), b.Dy())+size-1)/size, 1) // source pixels per output pixel
	w, h := max(b.Dx()/f, 1), max(b.Dy()/f, 1)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var r, g, bl, a, n uint64
			for sy := y * f; sy < (y+1)*f && sy < b.Dy(); sy++ {
				for sx := x * f; sx < (x+1)*f && sx < b.Dx(); sx++ {
					cr, cg, cb, ca := src.At(b.Min.X+sx, b.Min.Y+sy).RGBA()
					r, g, bl, a, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca), n+1
				}
			}
			i := dst.PixOffset(x, y)
			// RGBA() is alpha-premultiplied 16-bit; the hint wants
			// straight (non-premultiplied) 8-bit samples.
			if a == 0 {
				continue
			}
			dst.Pix[i+0] = uint8(min(r*0xff/a, 0xff))
			dst.Pix[i+1] = uint8(min(g*0xff/a, 0xff))
			dst.Pix[i+2] = uint8(min(bl*0xff/a, 0xff))
			dst.Pix[i+3] = uint8(a / n >> 8)
		}
	}
	return dst, nil
}

// iconFileName is the popup icon's file in Tidings' cache directory.
const iconFileName = "popup-icon-64.png"

// writeIconFile stores img as a PNG in dir (created if missing) unless the
// file there already holds exactly that PNG, and returns the file's path.
// A popup then names the file (the "image-path" hint) instead of carrying
// 16 KiB of pixels: every Notify call stays small, and the bus and the
// notification server have less to copy and decode.
func writeIconFile(dir string, img image.Image) (string, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	path := filepath.Join(dir, iconFileName)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, buf.Bytes()) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// appIcon64 decodes and scales the app icon once per process.
var appIcon64 = sync.OnceValues(func() (*image.RGBA, error) { return iconRGBA(assets.AppIcon, 64) })
