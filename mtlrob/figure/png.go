package figure

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot/vg/vgimg"
)

// PNG renders the figure as a PNG image at the given resolution (Save writes 150 dpi), e.g. for a
// smaller copy to show inline in a notebook.
func (f *Figure) PNG(dpi int) ([]byte, error) {
	if dpi <= 0 {
		return nil, fmt.Errorf("figure: PNG at %d dpi", dpi)
	}
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(dpi))}
	f.draw(c)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("figure: %w", err)
	}
	return buf.Bytes(), nil
}
