// LevelDB reference for `chorus bench storage`: the same db_bench workloads, flags, key and
// value streams, histogram and line shape as Sources/chorus/BenchStorage.swift, on LevelDB
// from Debian's libleveldb-dev. A benchmark tool only; Chorus never links LevelDB.
//
// Build: g++ -O2 -std=c++17 bench/leveldb_bench.cc -lleveldb -o leveldb_bench
// (scripts/bench.sh storage does this and runs both side by side).
//
// Fairness: compression is off (kNoCompression; Chorus does not compress), the bloom filter
// is on at 10 bits/key as in Chorus's default StorageOptions (db_bench's default is none),
// block cache 8 MiB and write buffer 4 MiB as both libraries' defaults. Writes use
// sync=false except fillsync (sync=true), as db_bench.

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace {

const char* kDefaultBenchmarks =
    "fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,fillsync,deleterandom";
const char* kKnown[] = {"fillseq",  "fillrandom", "overwrite",    "readrandom", "readmissing",
                        "readseq",  "fillsync",   "deleterandom", "deleteseq",  "compact",
                        "stats"};

struct Config {
  std::vector<std::string> benchmarks;
  long num = 1000000;
  long reads = -1;
  int key_size = 16;
  int value_size = 100;
  double compression_ratio = 0.5;
  std::string db;
  bool use_existing_db = false;
  size_t write_buffer_size = 4 << 20;
  size_t cache_size = 8 << 20;
  int bloom_bits = 10;
  int verify_checksums = -1;  // -1: LevelDB's default (ReadOptions::verify_checksums = false)
};

// LevelDB's util/random.h (Park-Miller), so both programs draw the same keys.
class Random {
 public:
  explicit Random(uint32_t s) : seed_(s & 0x7fffffffu) {
    if (seed_ == 0 || seed_ == 2147483647L) seed_ = 1;
  }
  uint32_t Next() {
    static const uint32_t M = 2147483647L;
    static const uint64_t A = 16807;
    uint64_t product = seed_ * A;
    seed_ = static_cast<uint32_t>((product >> 31) + (product & M));
    if (seed_ > M) seed_ -= M;
    return seed_;
  }
  uint32_t Uniform(int n) { return Next() % n; }

 private:
  uint32_t seed_;
};

// db_bench's RandomGenerator with test::CompressibleString.
class ValueGenerator {
 public:
  explicit ValueGenerator(double ratio) {
    Random rnd(301);
    while (data_.size() < 1048576) {
      int raw = static_cast<int>(100 * ratio);
      if (raw < 1) raw = 1;
      std::string raw_data(raw, ' ');
      for (int i = 0; i < raw; i++) raw_data[i] = static_cast<char>(' ' + rnd.Uniform(95));
      std::string piece;
      while (piece.size() < 100) piece.append(raw_data);
      piece.resize(100);
      data_.append(piece);
    }
  }
  void Reset() { pos_ = 0; }
  leveldb::Slice Generate(size_t len) {
    if (pos_ + len > data_.size()) pos_ = 0;
    pos_ += len;
    return leveldb::Slice(data_.data() + pos_ - len, len);
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Same bucketing as StorageBench.Histogram: exact below 64 ns, 32 sub-buckets per power of 2.
class Histogram {
 public:
  Histogram() : counts_(64 + 58 * 32, 0) {}
  static int Bucket(uint64_t v) {
    if (v < 64) return static_cast<int>(v);
    int e = 63 - __builtin_clzll(v);
    int sub = static_cast<int>((v >> (e - 5)) & 31);
    return 64 + (e - 6) * 32 + sub;
  }
  static void Bounds(int b, double* low, double* width) {
    if (b < 64) { *low = b; *width = 1; return; }
    int e = (b - 64) / 32 + 6;
    int sub = (b - 64) % 32;
    *width = static_cast<double>(uint64_t{1} << (e - 5));
    *low = static_cast<double>(uint64_t{1} << e) + sub * *width;
  }
  void Add(uint64_t nanos) {
    counts_[Bucket(nanos)]++;
    total_++;
    if (nanos < min_) min_ = nanos;
    if (nanos > max_) max_ = nanos;
  }
  double PercentileMicros(double p) const {
    if (total_ == 0) return 0;
    double threshold = total_ * p / 100;
    double cumulative = 0;
    for (size_t b = 0; b < counts_.size(); b++) {
      if (counts_[b] == 0) continue;
      double next = cumulative + counts_[b];
      if (next >= threshold) {
        double low, width;
        Bounds(static_cast<int>(b), &low, &width);
        double value = low + width * (threshold - cumulative) / counts_[b];
        value = std::fmin(std::fmax(value, static_cast<double>(min_)), static_cast<double>(max_));
        return value / 1000;
      }
      cumulative = next;
    }
    return max_ / 1000.0;
  }

 private:
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

uint64_t NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

// User plus system CPU time of this process so far, all threads, in microseconds.
double CpuMicros() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

uint64_t PeakRSSBytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::strtoull(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return kb * 1024;
}

uint64_t BytesOnDisk(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return 0;
  uint64_t total = 0;
  while (struct dirent* e = readdir(dir)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    std::string child = path + "/" + e->d_name;
    struct stat st;
    if (lstat(child.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) total += BytesOnDisk(child);
    else if (S_ISREG(st.st_mode)) total += st.st_size;
  }
  closedir(dir);
  return total;
}

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr, "leveldb_bench: %s\n", message.c_str());
  std::exit(2);
}

bool ParseLong(const std::string& name, const std::string& raw, long lo, long hi, long* out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(raw.c_str(), &end, 10);
  if (raw.empty() || *end != '\0' || errno != 0 || v < lo || v > hi) {
    Usage("bad value for --" + name + ": " + raw + " (expected an integer in " + std::to_string(lo) +
          "..." + std::to_string(hi) + ")");
  }
  *out = v;
  return true;
}

Config Parse(int argc, char** argv) {
  Config c;
  std::string benchmarks = kDefaultBenchmarks;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') Usage("unexpected argument " + arg);
    std::string name = arg.substr(arg.find_first_not_of('-'));
    std::string value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    for (char& ch : name) if (ch == '-') ch = '_';
    if (name == "help") {
      std::printf("usage: leveldb_bench [--benchmarks=LIST] [--num=N] [--reads=N] [--key_size=B] "
                  "[--value_size=B] [--db=DIR] [--use_existing_db=0|1] [--compression_ratio=R] "
                  "[--write_buffer_size=B] [--cache_size=B] [--bloom_bits=N] [--verify_checksums=0|1] [--histogram=0|1] "
                  "[--sync=POLICY (accepted, ignored: LevelDB syncs per write)]\n");
      std::exit(0);
    }
    if (!has_value) {
      if (i + 1 >= argc) Usage("flag --" + name + " needs a value");
      value = argv[++i];
    }
    long v = 0;
    if (name == "benchmarks") benchmarks = value;
    else if (name == "num") { ParseLong(name, value, 1, 2000000000, &v); c.num = v; }
    else if (name == "reads") { ParseLong(name, value, 0, 2000000000, &v); c.reads = v; }
    else if (name == "key_size") { ParseLong(name, value, 1, 4096, &v); c.key_size = static_cast<int>(v); }
    else if (name == "value_size") { ParseLong(name, value, 0, 1000000, &v); c.value_size = static_cast<int>(v); }
    else if (name == "db") c.db = value;
    else if (name == "use_existing_db") { ParseLong(name, value, 0, 1, &v); c.use_existing_db = v == 1; }
    else if (name == "write_buffer_size") { ParseLong(name, value, 4096, 1L << 30, &v); c.write_buffer_size = v; }
    else if (name == "cache_size") { ParseLong(name, value, 0, 1L << 40, &v); c.cache_size = v; }
    else if (name == "bloom_bits") { ParseLong(name, value, 0, 64, &v); c.bloom_bits = static_cast<int>(v); }
    else if (name == "histogram") { ParseLong(name, value, 0, 1, &v); }
    else if (name == "verify_checksums") { ParseLong(name, value, 0, 1, &v); c.verify_checksums = static_cast<int>(v); }
    else if (name == "sync") { /* Chorus's per-store policy; LevelDB takes sync per write. */ }
    else if (name == "compression_ratio") {
      char* end = nullptr;
      double r = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(r > 0 && r <= 1)) {
        Usage("bad value for --compression_ratio: " + value + " (expected 0 < R <= 1)");
      }
      c.compression_ratio = r;
    } else {
      Usage("unknown flag " + arg);
    }
  }
  if (c.reads < 0) c.reads = c.num;
  size_t start = 0;
  while (start <= benchmarks.size()) {
    size_t comma = benchmarks.find(',', start);
    if (comma == std::string::npos) comma = benchmarks.size();
    std::string one = benchmarks.substr(start, comma - start);
    if (!one.empty()) {
      bool known = false;
      for (const char* k : kKnown) known = known || one == k;
      if (!known) Usage("bad value for --benchmarks: unknown benchmark " + one);
      c.benchmarks.push_back(one);
    }
    start = comma + 1;
  }
  if (c.benchmarks.empty()) Usage("bad value for --benchmarks: empty list");
  int digits = std::to_string(c.num - 1).size();
  if (digits > c.key_size) Usage("bad value for --key_size: too small for --num distinct decimal keys");
  return c;
}

class Benchmark {
 public:
  explicit Benchmark(const Config& c) : c_(c), gen_(c.compression_ratio) {
    cache_.reset(leveldb::NewLRUCache(c.cache_size));
    if (c.bloom_bits > 0) filter_.reset(leveldb::NewBloomFilterPolicy(c.bloom_bits));
    options_.create_if_missing = true;
    options_.compression = leveldb::kNoCompression;
    options_.write_buffer_size = c.write_buffer_size;
    options_.block_cache = cache_.get();
    options_.filter_policy = filter_.get();
    if (c.verify_checksums >= 0) read_options_.verify_checksums = c.verify_checksums == 1;
    if (!c.use_existing_db) leveldb::DestroyDB(c.db, options_);
    Open();
  }
  ~Benchmark() { delete db_; }

  void PrintHeader() {
    std::printf("LevelDB:    version %d.%d (Debian libleveldb-dev)\n", leveldb::kMajorVersion,
                leveldb::kMinorVersion);
    std::time_t now = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
    std::printf("Date:       %s\n", date);
    std::printf("Keys:       %d bytes each\n", c_.key_size);
    std::printf("Values:     %d bytes each (%d bytes if compressed; compression is off)\n",
                c_.value_size, static_cast<int>(c_.value_size * c_.compression_ratio + 0.5));
    std::printf("Entries:    %ld\n", c_.num);
    std::printf("RawSize:    %.1f MB (estimated)\n",
                (static_cast<double>(c_.key_size + c_.value_size) * c_.num) / 1048576.0);
    std::printf("Sync:       fillsync: sync=true; other writes: sync=false\n");
    std::printf("Options:    write buffer %zu B, block cache %zu B, bloom %d bits/key, block %zu B, "
                "verify checksums %d, kNoCompression\n", c_.write_buffer_size, c_.cache_size, c_.bloom_bits,
                options_.block_size, read_options_.verify_checksums ? 1 : 0);
    std::printf("DB:         %s\n", c_.db.c_str());
    std::printf("------------------------------------------------\n");
    std::fflush(stdout);
  }

  void Run(const std::string& name, uint32_t seed) {
    done_ = 0;
    bytes_ = 0;
    message_.clear();
    hist_ = Histogram();
    cpu_before_ = CpuMicros();
    leveldb::WriteOptions wo;
    if (name == "fillseq") { Fresh(); Write(wo, c_.num, true, seed); }
    else if (name == "fillrandom") { Fresh(); Write(wo, c_.num, false, seed); }
    else if (name == "overwrite") Write(wo, c_.num, false, seed);
    else if (name == "fillsync") { Fresh(); wo.sync = true; Write(wo, c_.num / 1000, false, seed); }
    else if (name == "deleterandom") Delete(wo, false, seed);
    else if (name == "deleteseq") Delete(wo, true, seed);
    else if (name == "readrandom") ReadRandom(false, seed);
    else if (name == "readmissing") ReadRandom(true, seed);
    else if (name == "readseq") ReadSequential();
    else if (name == "compact") Compact();
    else if (name == "stats") {
      std::string stats;
      db_->GetProperty("leveldb.stats", &stats);
      std::printf("%s\n", stats.c_str());
      return;
    }
    Report(name);
  }

 private:
  void Open() {
    leveldb::Status s = leveldb::DB::Open(options_, c_.db, &db_);
    if (!s.ok()) Fail("open", s);
  }
  void Fresh() {
    delete db_;
    db_ = nullptr;
    leveldb::DestroyDB(c_.db, options_);
    Open();
  }
  [[noreturn]] void Fail(const char* what, const leveldb::Status& s) {
    std::fflush(stdout);
    std::fprintf(stderr, "leveldb_bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
  void FormatKey(char* key, long k) {
    for (int i = c_.key_size - 1; i >= 0; i--) {
      key[i] = static_cast<char>('0' + k % 10);
      k /= 10;
    }
  }
  void Tick() {
    uint64_t now = NowNanos();
    hist_.Add(now - last_);
    last_ = now;
  }
  void Start() { start_ = last_ = NowNanos(); }

  void Write(const leveldb::WriteOptions& wo, long count, bool seq, uint32_t seed) {
    Random rnd(seed);
    gen_.Reset();
    std::string key(c_.key_size, '0');
    leveldb::WriteBatch batch;
    Start();
    for (long i = 0; i < count; i++) {
      FormatKey(&key[0], seq ? i : rnd.Uniform(c_.num));
      leveldb::Slice value = gen_.Generate(c_.value_size);
      batch.Clear();
      batch.Put(key, value);
      leveldb::Status s = db_->Write(wo, &batch);
      if (!s.ok()) Fail("put", s);
      bytes_ += key.size() + value.size();
      Tick();
    }
    done_ = count;
  }

  void Delete(const leveldb::WriteOptions& wo, bool seq, uint32_t seed) {
    Random rnd(seed);
    std::string key(c_.key_size, '0');
    leveldb::WriteBatch batch;
    Start();
    for (long i = 0; i < c_.num; i++) {
      FormatKey(&key[0], seq ? i : rnd.Uniform(c_.num));
      batch.Clear();
      batch.Delete(key);
      leveldb::Status s = db_->Write(wo, &batch);
      if (!s.ok()) Fail("delete", s);
      Tick();
    }
    done_ = c_.num;
  }

  void ReadRandom(bool missing, uint32_t seed) {
    Random rnd(seed);
    // readmissing asks for "%016d." keys, which sort between stored ones.
    std::string key(c_.key_size + (missing ? 1 : 0), '.');
    std::string value;
    const leveldb::ReadOptions& ro = read_options_;
    long found = 0;
    Start();
    for (long i = 0; i < c_.reads; i++) {
      FormatKey(&key[0], rnd.Uniform(c_.num));
      if (db_->Get(ro, key, &value).ok()) {
        found++;
        bytes_ += key.size() + value.size();
      }
      Tick();
    }
    done_ = c_.reads;
    message_ = "(" + std::to_string(found) + " of " + std::to_string(c_.reads) + " found)";
  }

  void ReadSequential() {
    Start();
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read_options_));
    long done = 0;
    for (it->SeekToFirst(); done < c_.reads && it->Valid(); it->Next()) {
      bytes_ += it->key().size() + it->value().size();
      done++;
      Tick();
    }
    if (!it->status().ok()) Fail("iterate", it->status());
    done_ = done;
  }

  void Compact() {
    Start();
    db_->CompactRange(nullptr, nullptr);
    Tick();
    done_ = 1;
  }

  void Report(const std::string& name) {
    long ops = done_ < 1 ? 1 : done_;
    uint64_t elapsed = last_ - start_;
    double seconds = (elapsed == 0 ? 1 : elapsed) / 1e9;
    std::printf("%-12s : %11.3f micros/op %11.0f ops/sec; %7.1f MB/s; p50 %9.3f p99 %9.3f micros; "
                "disk %9.2f MB; rss %7.1f MB; cpu %9.3f micros/op%s%s\n",
                name.c_str(), seconds * 1e6 / ops, ops / seconds, bytes_ / 1048576.0 / seconds,
                hist_.PercentileMicros(50), hist_.PercentileMicros(99),
                BytesOnDisk(c_.db) / 1048576.0, PeakRSSBytes() / 1048576.0, (CpuMicros() - cpu_before_) / ops,
                message_.empty() ? "" : " ", message_.c_str());
    std::fflush(stdout);
  }

  Config c_;
  ValueGenerator gen_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  leveldb::Options options_;
  leveldb::ReadOptions read_options_;
  leveldb::DB* db_ = nullptr;
  Histogram hist_;
  uint64_t start_ = 0, last_ = 0;
  double cpu_before_ = 0;
  long done_ = 0;
  uint64_t bytes_ = 0;
  std::string message_;
};

}  // namespace

int main(int argc, char** argv) {
  Config c = Parse(argc, argv);
  bool owns_dir = false;
  if (c.db.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/leveldb-bench-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) Usage("cannot create a temporary directory");
    c.db = buf.data();
    owns_dir = true;
  }
  {
    Benchmark bench(c);
    bench.PrintHeader();
    for (size_t i = 0; i < c.benchmarks.size(); i++) bench.Run(c.benchmarks[i], 1000 + i);
  }
  if (owns_dir) {
    leveldb::Options o;
    leveldb::DestroyDB(c.db, o);
    rmdir(c.db.c_str());
  }
  return 0;
}
