// Writes the starting corpus of every fuzz target: small valid files of each format, made here
// (no downloaded data). Usage: fuzz_seeds DIR -> DIR/<target>/<seed files>. scripts/fuzz.sh adds a
// checkpoint and the configs of configs/ to these.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <stb_image_write.h>
#if VAE_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

#include "vae/io/image.h"
#include "vae/io/image_codec.h"

namespace {
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

void save(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void put_be32(Bytes& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(value >> shift));
}
void put_le32(Bytes& out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(uint8_t(value >> shift));
}

Bytes gzip(const Bytes& data) {
  z_stream stream{};
  deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // gzip wrapper
  Bytes out(deflateBound(&stream, uLong(data.size())) + 32);
  stream.next_in = const_cast<Bytes::value_type*>(data.data());
  stream.avail_in = uInt(data.size());
  stream.next_out = out.data();
  stream.avail_out = uInt(out.size());
  deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

Bytes zlib_compress(const Bytes& data) {
  uLongf size = compressBound(uLong(data.size()));
  Bytes out(size);
  compress(out.data(), &size, data.data(), uLong(data.size()));
  out.resize(size);
  return out;
}

vae::Image pattern(int64_t width, int64_t height, int64_t channels) {
  vae::Image image{width, height, channels, Bytes(size_t(width * height * channels))};
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = uint8_t((i * 37 + i / 7) % 256);
  return image;
}

// IDX: images (magic 0x803, N x H x W) and labels (0x801, N), plain and gzip.
void idx(const fs::path& dir) {
  Bytes images;
  put_be32(images, 0x803);
  for (uint32_t dim : {3u, 5u, 4u}) put_be32(images, dim);
  for (int i = 0; i < 3 * 5 * 4; ++i) images.push_back(uint8_t(i * 4));
  Bytes labels;
  put_be32(labels, 0x801);
  put_be32(labels, 3);
  for (uint8_t label : {7, 0, 9}) labels.push_back(label);
  save(dir / "images-idx3-ubyte", images);
  save(dir / "labels-idx1-ubyte", labels);
  save(dir / "images-idx3-ubyte.gz", gzip(images));
}

// CIFAR: two records of 1 (CIFAR-10) and of 2 (CIFAR-100) label bytes, then 3072 pixel bytes.
void cifar(const fs::path& dir) {
  for (int label_bytes : {1, 2}) {
    Bytes batch;
    for (int record = 0; record < 2; ++record) {
      for (int b = 0; b < label_bytes; ++b) batch.push_back(uint8_t(record + b));
      for (int i = 0; i < 3072; ++i) batch.push_back(uint8_t((i + record) % 251));
    }
    save(dir / ("batch" + std::to_string(label_bytes) + ".bin"), batch);
  }
}

// MATLAB v5: a 128-byte header, then one miMATRIX element per variable (a 1 x N vector of class
// `mx_class` stored as `mi_type`), optionally inside an miCOMPRESSED element.
Bytes mat_variable(const std::string& name, const std::vector<double>& values, uint32_t mx_class) {
  Bytes body;
  auto element = [&](uint32_t type, const Bytes& data) {
    put_le32(body, type);
    put_le32(body, uint32_t(data.size()));
    body.insert(body.end(), data.begin(), data.end());
    while (body.size() % 8) body.push_back(0);
  };
  Bytes flags;
  put_le32(flags, mx_class);
  put_le32(flags, 0);
  element(6, flags);  // miUINT32 array flags
  Bytes dims;
  put_le32(dims, 1);
  put_le32(dims, uint32_t(values.size()));
  element(5, dims);  // miINT32 dimensions
  element(1, Bytes(name.begin(), name.end()));  // miINT8 name
  Bytes real;
  for (double value : values) {
    uint8_t raw[8];
    std::memcpy(raw, &value, 8);
    real.insert(real.end(), raw, raw + 8);
  }
  element(9, real);  // miDOUBLE
  Bytes matrix;
  put_le32(matrix, 14);  // miMATRIX
  put_le32(matrix, uint32_t(body.size()));
  matrix.insert(matrix.end(), body.begin(), body.end());
  return matrix;
}

Bytes mat_file(const Bytes& elements) {
  Bytes file(128, ' ');
  const std::string text = "MATLAB 5.0 MAT-file, written by vae's fuzz seeds";
  std::memcpy(file.data(), text.data(), text.size());
  std::memset(file.data() + 116, 0, 8);
  file[124] = 0x00;
  file[125] = 0x01;  // version 0x0100
  file[126] = 'I';
  file[127] = 'M';  // little-endian
  file.insert(file.end(), elements.begin(), elements.end());
  return file;
}

void mat(const fs::path& dir) {
  const Bytes labels = mat_variable("labels", {77, 77, 1, 102}, 6);
  const Bytes trnid = mat_variable("trnid", {1, 2, 3}, 6);
  Bytes both = labels;
  both.insert(both.end(), trnid.begin(), trnid.end());
  save(dir / "imagelabels.mat", mat_file(labels));
  save(dir / "setid.mat", mat_file(both));
  const Bytes packed = zlib_compress(labels);
  Bytes compressed;
  put_le32(compressed, 15);  // miCOMPRESSED
  put_le32(compressed, uint32_t(packed.size()));
  compressed.insert(compressed.end(), packed.begin(), packed.end());
  save(dir / "compressed.mat", mat_file(compressed));
}

void lists(const fs::path& dir) {
  const std::string txt = "000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n";
  const std::string csv = "image_id,partition\n000001.jpg,0\n000002.jpg,2\n";
  save(dir / "partition.txt", Bytes(txt.begin(), txt.end()));
  save(dir / "partition.csv", Bytes(csv.begin(), csv.end()));
}

void append(void* context, void* data, int size) {
  auto* out = static_cast<Bytes*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

// JPEG through libjpeg-turbo (stb_image_write's JPEG encoder shifts negative values, which
// UBSan reports; vae itself never writes JPEG). Empty without libjpeg-turbo.
Bytes encode_jpeg(const vae::Image& image) {
  Bytes jpeg;
#if VAE_HAVE_TURBOJPEG
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const bool gray = image.channels == 1;
  if (tjCompress2(handle, image.pixels.data(), int(image.width), 0, int(image.height), gray ? TJPF_GRAY : TJPF_RGB,
                  &buffer, &size, gray ? TJSAMP_GRAY : TJSAMP_420, 90, 0) == 0) {
    jpeg.assign(buffer, buffer + size);
  }
  tjFree(buffer);
  tjDestroy(handle);
#else
  (void)image;
#endif
  return jpeg;
}

void images(const fs::path& dir) {
  for (int64_t channels : {1, 3}) {
    const vae::Image image = pattern(12, 9, channels);
    const std::string c = std::to_string(channels);
    save(dir / ("p" + c + ".png"), vae::encode_png(image));
    Bytes bmp;
    stbi_write_bmp_to_func(append, &bmp, int(image.width), int(image.height), int(channels), image.pixels.data());
    save(dir / ("p" + c + ".bmp"), bmp);
    const Bytes jpeg = encode_jpeg(image);
    if (!jpeg.empty()) save(dir / ("p" + c + ".jpg"), jpeg);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds DIR\n";
    return 2;
  }
  const fs::path dir = argv[1];
  idx(dir / "idx");
  cifar(dir / "cifar");
  mat(dir / "mat");
  lists(dir / "lists");
  images(dir / "image");
  fs::create_directories(dir / "checkpoint");
  fs::create_directories(dir / "config");
  return 0;
}
