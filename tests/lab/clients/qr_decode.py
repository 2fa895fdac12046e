# Copyright: (c) 2026, pbxguard.asterisk contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decode the QR code in a PNG with zxing-cpp (a real QR reader, independent
of the encoder). The PNG is unpacked here (zlib + PNG filters) into 8-bit grey
so no imaging library is needed. usage: qr_decode.py FILE.png -> prints the text."""
import struct
import sys
import zlib


def png_rows(data):
    """A PNG unpacked: (width, height, depth, colour type, palette, bytes per
    pixel, rows with the PNG filters undone). Shared by the lab tests that read PNGs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, palette = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, dummy, dummy2, interlace = struct.unpack(">IIBBBBB", body[:13])
            assert interlace == 0, "interlaced PNG"
        elif kind == b"PLTE":
            palette = [body[i:i + 3] for i in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    bpp_bits = depth * channels
    stride = (w * bpp_bits + 7) // 8
    bpp = max(1, bpp_bits // 8)
    raw = zlib.decompress(idat)
    rows, prev, i = [], bytearray(stride), 0
    for _y in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prev = line
    return w, h, depth, ctype, palette, bpp, rows


def png_to_grey(data):
    w, h, depth, ctype, palette, bpp, rows = png_rows(data)
    out = bytearray()
    for line in rows:
        for x in range(w):
            if depth < 8:
                bit = x * depth
                v = (line[bit // 8] >> (8 - depth - bit % 8)) & ((1 << depth) - 1)
            else:
                v = line[x * bpp]
            if ctype == 3:
                v = palette[v][0]
            elif depth < 8:
                v = v * 255 // ((1 << depth) - 1)
            out.append(v)
    return bytes(out), w, h


def main():
    import zxingcpp
    with open(sys.argv[1], "rb") as f:
        grey, w, h = png_to_grey(f.read())
    view = zxingcpp.ImageView(grey, w, h, zxingcpp.ImageFormat.Lum)
    results = zxingcpp.read_barcodes(view)
    if not results:
        print("no QR code found")
        return 1
    print(results[0].text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
