package notifier

import (
	"bytes"
	"errors"
	"image"
	"image/png"
)

// iconRGBA decodes a PNG and box-filters it down to at most size×size, so
// the image-data hint is 16 KiB rather than the full 256 KiB icon.
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
