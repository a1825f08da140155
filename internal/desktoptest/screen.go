package desktoptest

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
)

// Screenshot captures the whole X display with ImageMagick's
// `import -window root`, writes it to path as PNG (when path is not empty)
// and returns it.
func (e *Env) Screenshot(path string) (image.Image, error) {
	if e.Display == "" {
		return nil, fmt.Errorf("desktoptest: no display (set Needs.Display)")
	}
	cmd := e.command("import", "-window", "root", "png:-")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("desktoptest: import: %v: %s", err, errb.String())
	}
	img, err := png.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("desktoptest: screenshot: %w", err)
	}
	if path != "" {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// Colours counts the distinct colours in img, up to limit.
func Colours(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// LookPath reports whether a command the desktop tests use is installed.
func LookPath(name string) error {
	_, err := exec.LookPath(name)
	return err
}
