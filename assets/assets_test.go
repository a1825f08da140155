package assets

import (
	"bytes"
	"image"
	_ "image/png"
	"testing"
)

func TestEveryIconIsASquarePNGWithTransparentCorners(t *testing.T) {
	for name, tt := range map[string]struct {
		data []byte
		size int
	}{
		"app":       {AppIcon, 256},
		"connected": {TrayConnected, 64},
		"unread":    {TrayUnread, 64},
		"offline":   {TrayOffline, 64},
		"login":     {TrayNeedsLogin, 64},
	} {
		t.Run(name, func(t *testing.T) {
			img, format, err := image.Decode(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if format != "png" {
				t.Fatalf("format %s", format)
			}
			b := img.Bounds()
			if b.Dx() != tt.size || b.Dy() != tt.size {
				t.Fatalf("size %v, want %d", b, tt.size)
			}
			if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
				t.Fatalf("corner is not transparent (alpha %d)", a)
			}
			if _, _, _, a := img.At(tt.size/2, tt.size/2).RGBA(); a == 0 {
				t.Fatal("centre is transparent")
			}
		})
	}
}

func TestTrayIconsDifferFromEachOther(t *testing.T) {
	icons := [][]byte{TrayConnected, TrayUnread, TrayOffline, TrayNeedsLogin}
	for i := range icons {
		for j := i + 1; j < len(icons); j++ {
			if bytes.Equal(icons[i], icons[j]) {
				t.Fatalf("tray icons %d and %d are identical", i, j)
			}
		}
	}
}
