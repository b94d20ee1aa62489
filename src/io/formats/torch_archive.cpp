// LibTorch archives checked before LibTorch reads them; see torch_archive.h. The zip layout is
// PKWARE's APPNOTE (end of central directory, zip64 locator and record, central directory and
// local file headers); the pickle is Python's protocol 2 as LibTorch's pickler writes it.
#include "vae/io/torch_archive.h"

#include <zlib.h>

#include <cstring>
#include <map>

#include "vae/base/errors.h"
#include "vae/base/fs.h"

namespace vae {
namespace {

struct ZipEntry {
  uint64_t data_begin = 0;
  uint64_t compressed = 0;  // bytes in the file
  uint64_t size = 0;        // bytes of the record
  uint32_t crc = 0;
  bool deflated = false;    // LibTorch stores tensor records; miniz may deflate small text ones
};

class Bytes {
 public:
  Bytes(const std::vector<uint8_t>& data, std::string path) : data_(data), path_(std::move(path)) {}
  uint64_t size() const { return data_.size(); }
  uint64_t u(uint64_t at, int width) const {
    if (at + uint64_t(width) > data_.size()) damaged("a zip structure runs past the end of the file");
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i) value = (value << 8) | data_[size_t(at) + size_t(i)];
    return value;
  }
  std::string text(uint64_t at, uint64_t length) const {
    if (at + length > data_.size()) damaged("a zip name runs past the end of the file");
    return std::string(reinterpret_cast<const char*>(data_.data()) + at, size_t(length));
  }
  const uint8_t* at(uint64_t offset) const { return data_.data() + offset; }
  [[noreturn]] void damaged(const std::string& what) const {
    throw CheckpointError(path_ + ": damaged checkpoint: " + what + "; use another checkpoint (e.g. best.pt)");
  }

 private:
  const std::vector<uint8_t>& data_;
  std::string path_;
};

constexpr uint32_t kEndOfDirectory = 0x06054b50, kZip64Locator = 0x07064b50, kZip64End = 0x06064b50,
                   kDirectoryEntry = 0x02014b50, kLocalHeader = 0x04034b50;

std::map<std::string, ZipEntry> read_zip_directory(const Bytes& file) {
  if (file.size() < 22) file.damaged("too short for a zip file");
  uint64_t end = 0;
  bool found = false;
  const uint64_t lowest = file.size() > 22 + 65535 ? file.size() - 22 - 65535 : 0;
  for (uint64_t at = file.size() - 22;; --at) {
    if (file.u(at, 4) == kEndOfDirectory) {
      end = at;
      found = true;
      break;
    }
    if (at == lowest) break;
  }
  if (!found) file.damaged("no zip directory at its end (cut short?)");
  uint64_t entries = file.u(end + 10, 2), directory = file.u(end + 16, 4);
  if (directory == 0xFFFFFFFFu || entries == 0xFFFFu) {
    if (end < 20 || file.u(end - 20, 4) != kZip64Locator) file.damaged("zip64 directory locator missing");
    const uint64_t zip64 = file.u(end - 20 + 8, 8);
    if (file.u(zip64, 4) != kZip64End) file.damaged("zip64 directory record missing");
    entries = file.u(zip64 + 32, 8);
    directory = file.u(zip64 + 48, 8);
  }
  std::map<std::string, ZipEntry> records;
  uint64_t at = directory;
  for (uint64_t i = 0; i < entries; ++i) {
    if (file.u(at, 4) != kDirectoryEntry) file.damaged("zip directory entry " + std::to_string(i) + " is broken");
    const uint64_t method = file.u(at + 10, 2);
    const uint32_t crc = uint32_t(file.u(at + 16, 4));
    uint64_t compressed = file.u(at + 20, 4), size = file.u(at + 24, 4);
    const uint64_t name_length = file.u(at + 28, 2), extra_length = file.u(at + 30, 2),
                   comment_length = file.u(at + 32, 2);
    uint64_t local = file.u(at + 42, 4);
    const std::string name = file.text(at + 46, name_length);
    // zip64 sizes and offset, in the order of the fields that were 0xFFFFFFFF.
    for (uint64_t extra = at + 46 + name_length; extra + 4 <= at + 46 + name_length + extra_length;) {
      const uint64_t tag = file.u(extra, 2), length = file.u(extra + 2, 2);
      if (tag == 1) {
        uint64_t field = extra + 4;
        if (size == 0xFFFFFFFFu) size = file.u(field, 8), field += 8;
        if (compressed == 0xFFFFFFFFu) compressed = file.u(field, 8), field += 8;
        if (local == 0xFFFFFFFFu) local = file.u(field, 8);
      }
      extra += 4 + length;
    }
    if (method != 0 && method != 8) file.damaged("record " + name + " uses an unknown compression");
    if (method == 0 && compressed != size) file.damaged("record " + name + " has two different sizes");
    if (file.u(local, 4) != kLocalHeader) file.damaged("record " + name + " has no local header");
    const uint64_t begin = local + 30 + file.u(local + 26, 2) + file.u(local + 28, 2);
    if (begin > file.size() || compressed > file.size() - begin) {
      file.damaged("record " + name + " runs past the end of the file");
    }
    records[name] = {begin, compressed, size, crc, method == 8};
    at += 46 + name_length + extra_length + comment_length;
  }
  return records;
}

int64_t element_size(const std::string& type) {
  static const std::map<std::string, int64_t> sizes = {
      {"FloatStorage", 4},  {"DoubleStorage", 8}, {"HalfStorage", 2}, {"BFloat16Storage", 2},
      {"LongStorage", 8},   {"IntStorage", 4},    {"ShortStorage", 2}, {"CharStorage", 1},
      {"ByteStorage", 1},   {"BoolStorage", 1},   {"ComplexFloatStorage", 8}, {"ComplexDoubleStorage", 16}};
  const auto found = sizes.find(type);
  return found == sizes.end() ? 0 : found->second;
}

// The storages a LibTorch pickle declares: each is the persistent id ("storage", torch.<T>Storage,
// key, location, elements), a tuple built after a MARK, then BINPERSID. Strings and globals may
// come from the memo (BINGET) when repeated. Other opcodes are skipped by their argument sizes.
std::vector<StorageRecord> pickled_storages(const uint8_t* data, uint64_t size, const Bytes& file) {
  struct Atom {
    char kind;  // 's' string, 'g' global, 'i' integer, '?' anything else
    std::string text;
    int64_t number = 0;
  };
  std::vector<std::vector<Atom>> marks;  // the items since each open MARK
  std::vector<Atom> last_tuple;
  std::map<uint64_t, Atom> memo;
  Atom last{'?', "", 0};
  std::vector<StorageRecord> storages;
  uint64_t at = 0;
  auto need = [&](uint64_t n) {
    if (at + n > size) file.damaged("data.pkl ends inside an instruction");
  };
  auto read_uint = [&](int width) {
    need(uint64_t(width));
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i) value = (value << 8) | data[at + uint64_t(i)];
    at += uint64_t(width);
    return value;
  };
  auto line = [&]() {
    const uint8_t* start = data + at;
    const void* newline = std::memchr(start, '\n', size_t(size - at));
    if (newline == nullptr) file.damaged("data.pkl ends inside a text instruction");
    const uint64_t length = uint64_t(static_cast<const uint8_t*>(newline) - start);
    std::string text(reinterpret_cast<const char*>(start), size_t(length));
    at += length + 1;
    return text;
  };
  auto emit = [&](const Atom& atom) {
    last = atom;
    if (!marks.empty()) marks.back().push_back(atom);
  };
  auto close_mark = [&]() -> std::vector<Atom> {
    if (marks.empty()) file.damaged("data.pkl closes a MARK it never opened");
    std::vector<Atom> items = std::move(marks.back());
    marks.pop_back();
    return items;
  };
  while (at < size) {
    const uint8_t op = data[at++];
    switch (op) {
      case 0x80: read_uint(1); break;                             // PROTO
      case '.': return storages;                                  // STOP
      case '(': marks.emplace_back(); break;                      // MARK
      case 't': last_tuple = close_mark(); emit({'?', "", 0}); break;  // TUPLE
      case 'l': case 'd': case 'u': case 'e': case '1': case 'o': case 0x90: case 0x91:
        close_mark();
        if (op == 'l' || op == 'd' || op == 'o' || op == 0x91) emit({'?', "", 0});
        break;
      case 'X': { const uint64_t n = read_uint(4); need(n); emit({'s', std::string(reinterpret_cast<const char*>(data + at), size_t(n)), 0}); at += n; break; }
      case 0x8c: { const uint64_t n = read_uint(1); need(n); emit({'s', std::string(reinterpret_cast<const char*>(data + at), size_t(n)), 0}); at += n; break; }
      case 'U': case 'C': { const uint64_t n = read_uint(1); need(n); at += n; emit({'?', "", 0}); break; }
      case 'T': case 'B': { const uint64_t n = read_uint(4); need(n); at += n; emit({'?', "", 0}); break; }
      case 0x8d: case 0x8e: { const uint64_t n = read_uint(8); need(n); at += n; emit({'?', "", 0}); break; }
      case 'c': { std::string module = line(); std::string name = line(); emit({'g', module + "." + name, 0}); break; }
      case 'J': emit({'i', "", int64_t(int32_t(uint32_t(read_uint(4))))}); break;
      case 'K': emit({'i', "", int64_t(read_uint(1))}); break;
      case 'M': emit({'i', "", int64_t(read_uint(2))}); break;
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const uint64_t n = read_uint(1);
        need(n);
        if (n > 8) file.damaged("data.pkl holds an integer too large for an element count");
        uint64_t value = 0;
        for (uint64_t i = 0; i < n; ++i) value |= uint64_t(data[at + i]) << (8 * i);
        if (n > 0 && n < 8 && (data[at + n - 1] & 0x80)) value |= ~uint64_t(0) << (8 * n);
        at += n;
        emit({'i', "", int64_t(value)});
        break;
      }
      case 0x8b: { const uint64_t n = read_uint(4); need(n); at += n; emit({'?', "", 0}); break; }  // LONG4
      case 'G': need(8); at += 8; emit({'?', "", 0}); break;       // BINFLOAT
      case 'q': memo[read_uint(1)] = last; break;                  // BINPUT
      case 'r': memo[read_uint(4)] = last; break;                  // LONG_BINPUT
      case 0x94: memo[memo.size()] = last; break;                  // MEMOIZE
      case 'h': case 'j': {                                        // BINGET, LONG_BINGET
        const uint64_t index = read_uint(op == 'h' ? 1 : 4);
        const auto found = memo.find(index);
        emit(found == memo.end() ? Atom{'?', "", 0} : found->second);
        break;
      }
      case 'Q': {  // BINPERSID: the persistent id is the tuple just built
        const auto& t = last_tuple;
        if (t.size() == 5 && t[0].kind == 's' && t[0].text == "storage" && t[1].kind == 'g' && t[2].kind == 's' &&
            t[4].kind == 'i') {
          const std::string type = t[1].text.rfind("torch.", 0) == 0 ? t[1].text.substr(6) : t[1].text;
          storages.push_back({t[2].text, type, t[4].number, 0});
        }
        emit({'?', "", 0});
        break;
      }
      case 0x95: read_uint(8); break;                                // FRAME
      case 0x82: read_uint(1); emit({'?', "", 0}); break;            // EXT1
      case 0x83: read_uint(2); emit({'?', "", 0}); break;            // EXT2
      case 0x84: read_uint(4); emit({'?', "", 0}); break;            // EXT4
      case 'F': case 'I': case 'L': case 'S': case 'V': case 'P': case 'g': case 'p':
        line();
        if (op != 'p') emit({'?', "", 0});
        break;
      case 'i': line(); line(); close_mark(); emit({'?', "", 0}); break;  // INST
      case 0x8f: case '}': case ']': case ')': case 'N': case 0x88: case 0x89:
        emit({'?', "", 0});
        break;
      case 0x85: case 0x86: case 0x87: case 'R': case 0x81: case 0x92: case 0x93: case 'b': case 'a': case 's':
      case '0': case '2':
        emit({'?', "", 0});
        break;
      default:
        file.damaged("data.pkl holds an unknown pickle instruction 0x" + std::to_string(int(op)));
    }
  }
  file.damaged("data.pkl has no STOP instruction");
}

// A record's bytes: stored ones as they are, deflated ones inflated (raw deflate, as zip holds it),
// and never more than the size the directory gives.
std::vector<uint8_t> record_bytes(const Bytes& file, const std::string& name, const ZipEntry& entry) {
  if (!entry.deflated) return std::vector<uint8_t>(file.at(entry.data_begin), file.at(entry.data_begin) + entry.size);
  if (entry.size > (uint64_t(1) << 32)) file.damaged("record " + name + " is too large to inflate");
  std::vector<uint8_t> out(size_t(entry.size));
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) file.damaged("zlib could not start for record " + name);
  stream.next_in = const_cast<Bytef*>(file.at(entry.data_begin));
  stream.avail_in = uInt(entry.compressed);
  stream.next_out = out.data();
  stream.avail_out = uInt(out.size());
  const int status = inflate(&stream, Z_FINISH);
  const uint64_t produced = stream.total_out;
  inflateEnd(&stream);
  if (status != Z_STREAM_END || produced != entry.size) file.damaged("record " + name + " does not inflate to its size");
  return out;
}

}  // namespace

std::vector<StorageRecord> check_torch_archive(const std::string& path) {
  return check_torch_archive(read_file_bytes(path), path);
}

std::vector<StorageRecord> check_torch_archive(const std::vector<uint8_t>& bytes, const std::string& path) {
  const Bytes file(bytes, path);
  const std::map<std::string, ZipEntry> records = read_zip_directory(file);
  std::vector<uint8_t> pickle_bytes;
  for (const auto& [name, entry] : records) {
    uint32_t crc = 0;
    if (entry.deflated) {
      const std::vector<uint8_t> inflated = record_bytes(file, name, entry);
      crc = uint32_t(crc32(0L, inflated.data(), uInt(inflated.size())));
      if (name.size() >= 9 && name.compare(name.size() - 9, 9, "/data.pkl") == 0) pickle_bytes = inflated;
    } else {
      crc = uint32_t(crc32(0L, file.at(entry.data_begin), uInt(entry.size)));
    }
    if (crc != entry.crc) file.damaged("record " + name + " fails its CRC-32 check (its bytes changed after writing)");
  }
  std::string prefix;
  for (const auto& [name, entry] : records) {
    const auto slash = name.find('/');
    if (slash != std::string::npos && name.substr(slash + 1) == "data.pkl") prefix = name.substr(0, slash + 1);
  }
  const auto pickle = records.find(prefix + "data.pkl");
  if (pickle == records.end()) file.damaged("no data.pkl record (not a LibTorch archive)");
  if (!pickle->second.deflated) pickle_bytes = record_bytes(file, pickle->first, pickle->second);
  std::vector<StorageRecord> storages = pickled_storages(pickle_bytes.data(), pickle_bytes.size(), file);
  for (auto& storage : storages) {
    const auto record = records.find(prefix + "data/" + storage.key);
    if (record == records.end()) file.damaged("tensor storage data/" + storage.key + " has no record");
    storage.bytes = int64_t(record->second.size);
    const int64_t item = element_size(storage.type);
    if (item == 0) file.damaged("tensor storage data/" + storage.key + " has the unknown type " + storage.type);
    if (storage.elements < 0 || storage.elements > int64_t(record->second.size) / item) {
      file.damaged("tensor storage data/" + storage.key + " declares " + std::to_string(storage.elements) + " " +
                   storage.type + " elements (" + std::to_string(storage.elements) + " x " + std::to_string(item) +
                   " bytes) but its record holds " + std::to_string(record->second.size) + " bytes");
    }
  }
  return storages;
}

}  // namespace vae
