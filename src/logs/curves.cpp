// Loss curves from metrics.csv, drawn with PLplot's pngcairo driver; see curves.h.
//
// PLplot is a C library with global state: every call here runs under one lock, in a stream made
// for it (plmkstrm) that is ended (plend1) before the caller's stream is made current again. Its
// non-fatal messages go to the debug log (plsabort). Its fatal errors would end the process
// (plexit calls exit()), so everything PLplot could fail on is checked first (the data, the
// output file opened here before PLplot opens it) and, as a last resort, the exit handler throws
// (libplplot is built with unwind tables, so the exception reaches this file's catch).
#include "vae/logs/curves.h"
#include "vae/logs/metrics_csv.h"

#if VAE_HAVE_PLPLOT
#include <plplot.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <spdlog/spdlog.h>

#include "vae/base/errors.h"
#include "vae/base/fs.h"

namespace vae {
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------
// metrics.csv

// One split's terms, by optimizer step (a resumed run's repeated rows replace earlier ones).
struct Terms {
  double loss, recon, kl, neg_elbo;
};
using SplitRows = std::map<int64_t, Terms>;

struct Metrics {
  SplitRows train, val;
};

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

// Out-of-range numbers read as inf (left out of the plot) or a denormal, not as errors.
bool parse_double(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

bool parse_int(const std::string& text, int64_t& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  value = std::strtoll(text.c_str(), &end, 10);
  return end == text.c_str() + text.size() && errno == 0;
}

// A field as shown in an error: quoted, unprintable bytes as '?', long ones cut.
std::string shown(const std::string& field) {
  std::string out;
  for (char c : field.substr(0, 40)) out += (c >= 32 && c < 127) ? c : '?';
  return "'" + out + (field.size() > 40 ? "...'" : "'");
}

Metrics read_metrics(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw IoError(path.string() + ": cannot read metrics file (" + std::strerror(errno) +
                  "); vae train writes it in the run directory");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw DataError(path.string() + ": metrics file is empty; vae train writes its header when "
                    "training starts and a row every train.log_every steps");
  }

  std::vector<std::string> lines;
  std::istringstream line_stream(text);
  for (std::string line; std::getline(line_stream, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  const bool last_line_complete = text.back() == '\n';

  const std::vector<std::string> header = split_fields(lines[0]);
  const auto column = [&](MetricsColumn wanted) {
    const std::string name = column_name(wanted);
    const auto found = std::find(header.begin(), header.end(), name);
    if (found == header.end()) {
      std::string expected;
      for (size_t c = 0; c <= size_t(MetricsColumn::elbo); ++c) expected += kMetricsColumns[c] + std::string(",");
      throw DataError(path.string() + ": header " + shown(lines[0]) + " has no '" + name +
                      "' column; expected " + expected + "... as vae train writes it");
    }
    return size_t(found - header.begin());
  };
  const size_t step_col = column(MetricsColumn::step), split_col = column(MetricsColumn::split),
               loss_col = column(MetricsColumn::loss), recon_col = column(MetricsColumn::recon),
               kl_col = column(MetricsColumn::kl), elbo_col = column(MetricsColumn::elbo);

  Metrics metrics;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty()) continue;
    const std::string where = path.string() + ":" + std::to_string(i + 1) + ": ";
    const std::vector<std::string> fields = split_fields(line);
    if (fields.size() != header.size()) {
      // vae train appends a row at a time: a short last line is one being written right now.
      if (i + 1 == lines.size() && !last_line_complete && fields.size() < header.size()) break;
      throw DataError(where + std::to_string(fields.size()) + " fields where the header has " +
                      std::to_string(header.size()) + "; the file is damaged");
    }
    int64_t step = 0;
    if (!parse_int(fields[step_col], step)) {
      throw DataError(where + "step " + shown(fields[step_col]) +
                      " is not an integer; the file is damaged");
    }
    Terms terms{};
    const std::pair<size_t, double*> numbers[] = {
        {loss_col, &terms.loss}, {recon_col, &terms.recon}, {kl_col, &terms.kl}, {elbo_col, &terms.neg_elbo}};
    for (const auto& [col, target] : numbers) {
      if (!parse_double(fields[col], *target)) {
        throw DataError(where + header[col] + " " + shown(fields[col]) +
                        " is not a number; the file is damaged");
      }
    }
    terms.neg_elbo = -terms.neg_elbo;  // the file has the bound itself, -(recon + kl)
    const std::string& split = fields[split_col];
    if (split == "train") {
      metrics.train[step] = terms;
    } else if (split == "val") {
      metrics.val[step] = terms;
    } else if (split.empty() || split.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos) {
      throw DataError(where + "split " + shown(split) + " is not a split name; the file is damaged");
    }  // other splits (a future "test" row) are not drawn
  }
  if (metrics.train.empty() && metrics.val.empty()) {
    throw DataError(path.string() + ": no training or validation rows yet; vae train writes one "
                    "every train.log_every steps and one per epoch");
  }
  return metrics;
}

#if VAE_HAVE_PLPLOT
// ---------------------------------------------------------------------------------------------
// Drawing

// Page size in pixels, and text and marker sizes relative to PLplot's defaults.
constexpr PLINT kWidth = 1200, kHeight = 1200;
constexpr PLFLT kTextScale = 0.7, kMarkerScale = 0.6;

// Colour map 0 entries set below.
enum Colour : PLINT { kBackground = 0, kInk = 1, kTrainColour = 2, kValColour = 3, kGridColour = 4, kRunColours = 5 };

// One colour per run when several are overlaid (matplotlib's "tab10"), entries kRunColours...
constexpr int kRunPalette[][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                  {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                  {188, 189, 34}, {23, 190, 207}};
constexpr size_t kRunPaletteSize = sizeof kRunPalette / sizeof kRunPalette[0];

// UTF-8 markers (DejaVu has them) for validation points.
const char* const kDisc = "\xe2\x97\x8f";    // U+25CF black circle
const char* const kSquare = "\xe2\x96\xa0";  // U+25A0 black square

struct Series {
  std::string label;
  std::vector<double> x, y;
  PLINT colour;
  PLINT line_style;    // 1 solid, 2 dashed (PLplot's pllsty)
  const char* marker;  // nullptr: line only
};

Series make_series(const SplitRows& rows, double Terms::*term, std::string label, PLINT colour,
                   PLINT line_style, const char* marker) {
  Series series{std::move(label), {}, {}, colour, line_style, marker};
  for (const auto& [step, terms] : rows) {
    const double value = terms.*term;
    if (!std::isfinite(value)) continue;
    series.x.push_back(double(step));
    series.y.push_back(value);
  }
  // A training curve of one point would be invisible as a line.
  if (series.marker == nullptr && series.x.size() == 1) series.marker = line_style == 1 ? kDisc : kSquare;
  return series;
}

struct Panel {
  std::string heading;
  std::string y_label;
  std::vector<Series> series;
};

// PLplot reads '#' as the start of an escape sequence; "##" is a literal '#'.
std::string plplot_text(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '#' ? std::string("##") : std::string(1, c);
  return out;
}

// Linear axes: a log axis would label only the powers of ten these curves rarely span.
void draw_panel(const Panel& panel, double x_min, double x_max, PLFLT y_bottom, PLFLT y_top,
                bool x_label) {
  double low = INFINITY, high = -INFINITY;
  for (const auto& series : panel.series) {
    for (double y : series.y) {
      low = std::min(low, y);
      high = std::max(high, y);
    }
  }
  if (!std::isfinite(low)) {
    low = 0;
    high = 1;
  }
  const double span = high - low;
  const double pad = span > 0 ? 0.06 * span : std::max(1e-3, 0.1 * std::abs(low));
  low -= pad;
  high += pad;

  plvpor(0.10, 0.74, y_bottom, y_top);
  plwind(x_min, x_max, low, high);
  plcol0(kGridColour);
  pllsty(3);
  plwidth(0.5);
  plbox("g", 0, 0, "g", 0, 0);
  pllsty(1);
  plwidth(1.0);
  plcol0(kInk);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  plmtex("t", 0.8, 0.0, 0.0, plplot_text(panel.heading).c_str());
  plmtex("l", 5.0, 0.5, 0.5, plplot_text(panel.y_label).c_str());
  if (x_label) plmtex("b", 3.0, 0.5, 0.5, "optimizer step");

  std::vector<PLINT> options, colours, styles, numbers;
  std::vector<PLFLT> widths, scales;
  std::vector<const char*> texts, symbols;
  for (const auto& series : panel.series) {
    if (series.x.empty()) continue;
    const std::vector<PLFLT>& y = series.y;
    plcol0(series.colour);
    pllsty(series.line_style);
    plwidth(2.0);
    if (series.x.size() > 1) plline(PLINT(series.x.size()), series.x.data(), y.data());
    pllsty(1);
    if (series.marker != nullptr) {
      plstring(PLINT(series.x.size()), series.x.data(), y.data(), series.marker);
    }
    options.push_back(PL_LEGEND_LINE | (series.marker != nullptr ? PL_LEGEND_SYMBOL : 0));
    colours.push_back(series.colour);
    styles.push_back(series.line_style);
    widths.push_back(2.0);
    scales.push_back(kMarkerScale);
    numbers.push_back(1);
    texts.push_back(series.label.c_str());
    symbols.push_back(series.marker != nullptr ? series.marker : "");
  }
  plwidth(1.0);
  if (texts.empty()) return;
  const std::vector<PLINT> text_colours(texts.size(), kInk);
  PLFLT legend_width = 0, legend_height = 0;
  pllegend(&legend_width, &legend_height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
           PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, /*x=*/0.015, /*y=*/0.0,
           /*plot_width=*/0.05, kBackground, kInk, /*bb_style=*/1, /*nrow=*/0, /*ncolumn=*/0,
           PLINT(texts.size()), options.data(), /*text_offset=*/0.8, /*text_scale=*/kTextScale,
           /*text_spacing=*/2.0, /*text_justification=*/0.0, text_colours.data(), texts.data(),
           nullptr, nullptr, nullptr, nullptr, colours.data(), styles.data(), widths.data(),
           colours.data(), scales.data(), numbers.data(), symbols.data());
}

std::vector<Panel> make_panels(const Metrics& metrics) {
  const auto train = [&](double Terms::*term, const char* label, PLINT style) {
    return make_series(metrics.train, term, label, kTrainColour, style, nullptr);
  };
  const auto val = [&](double Terms::*term, const char* label, PLINT style, const char* marker) {
    return make_series(metrics.val, term, label, kValColour, style, marker);
  };
  return {
      {"Negative ELBO and reconstruction term", "nats per image",
       {train(&Terms::neg_elbo, "train -ELBO", 1), train(&Terms::recon, "train recon", 2),
        val(&Terms::neg_elbo, "validation -ELBO", 1, kDisc),
        val(&Terms::recon, "validation recon", 2, kSquare)}},
      {"KL divergence q(z|x) || p(z)", "nats per image",
       {train(&Terms::kl, "train KL", 1), val(&Terms::kl, "validation KL", 1, kDisc)}},
      {"Training objective (as optimized: the config's reductions and KL weight)",
       "loss (the config's units)",
       {train(&Terms::loss, "train loss", 1), val(&Terms::loss, "validation loss", 1, kDisc)}},
  };
}

// The validation curves of several runs, one colour (and one legend entry) per run; the line
// style cycles after the palette's ten colours so that eleven runs or more stay apart.
std::vector<Panel> comparison_panels(const std::vector<std::pair<std::string, Metrics>>& runs) {
  std::vector<Panel> panels = {
      {"Validation negative ELBO", "nats per image", {}},
      {"Validation KL divergence q(z|x) || p(z)", "nats per image", {}},
      {"Validation objective (each run's reductions and KL weight)", "loss (each config's units)", {}}};
  for (size_t r = 0; r < runs.size(); ++r) {
    const PLINT colour = PLINT(kRunColours + r % kRunPaletteSize);
    const PLINT style = PLINT(1 + (r / kRunPaletteSize) % 8);
    const auto& [name, metrics] = runs[r];
    panels[0].series.push_back(make_series(metrics.val, &Terms::neg_elbo, name, colour, style, kDisc));
    panels[1].series.push_back(make_series(metrics.val, &Terms::kl, name, colour, style, kDisc));
    panels[2].series.push_back(make_series(metrics.val, &Terms::loss, name, colour, style, kDisc));
  }
  return panels;
}

// Thrown by PLplot's exit handler instead of letting it end the process.
struct PlplotFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int throw_on_plplot_exit(const char* message) { throw PlplotFailure(message ? message : ""); }

void log_plplot_message(const char* message) {
  spdlog::debug("PLplot: {}", message ? message : "");
}

// Whether this PLplot has the cairo PNG driver (a separate Debian package); without it plinit
// would ask for a device on stdin.
bool has_pngcairo_device() {
  std::vector<const char*> menus(256), names(256);  // filled by PLplot, up to `count`
  const char** menu_list = menus.data();
  const char** name_list = names.data();
  int count = int(names.size());
  plgDevs(&menu_list, &name_list, &count);
  for (int i = 0; i < count; ++i) {
    if (name_list[i] != nullptr && std::strcmp(name_list[i], "pngcairo") == 0) return true;
  }
  return false;
}

void render(const std::vector<Panel>& panels, double x_max, const std::string& title,
            const fs::path& file) {
  plsdev("pngcairo");
  plsfnam(file.c_str());
  plspage(0, 0, kWidth, kHeight, 0, 0);
  plscmap0n(16);
  plscol0(kBackground, 255, 255, 255);
  plscol0(kInk, 0, 0, 0);
  plscol0(kTrainColour, 31, 119, 180);   // blue
  plscol0(kValColour, 230, 97, 1);       // orange
  plscol0(kGridColour, 190, 190, 190);
  for (size_t i = 0; i < kRunPaletteSize; ++i) {
    plscol0(PLINT(kRunColours + i), kRunPalette[i][0], kRunPalette[i][1], kRunPalette[i][2]);
  }
  plinit();
  pladv(0);
  plschr(0, kTextScale);
  plssym(0, kMarkerScale);
  // Three panels stacked, the x axis labelled under the last one.
  const PLFLT tops[] = {0.90, 0.605, 0.31}, height = 0.225;
  for (size_t i = 0; i < panels.size(); ++i) {
    draw_panel(panels[i], 0.0, x_max, tops[i] - height, tops[i], i + 1 == panels.size());
    if (i == 0) {
      plcol0(kInk);
      plschr(0, 1.3 * kTextScale);
      plmtex("t", 2.6, 0.5, 0.5, plplot_text(title).c_str());
      plschr(0, kTextScale);
    }
  }
}

std::mutex plplot_mutex;

#endif  // VAE_HAVE_PLPLOT

}  // namespace

bool curves_available() { return VAE_HAVE_PLPLOT; }

const char* const kCurvesMissing =
    "this vae was built without PLplot, which draws the loss curves; install libplplot-dev and "
    "plplot-driver-cairo (Debian/Ubuntu) and rebuild, or read metrics.csv or TensorBoard instead";

namespace {

#if VAE_HAVE_PLPLOT
// Draws `panels` (steps 0..x_max) under `heading` into out_png, through a temporary file.
void write_panels_png(const std::vector<Panel>& panels, double x_max, const std::string& heading,
                      const fs::path& out_png) {
  // Opened here first: PLplot would print and exit where it cannot open the file itself.
  if (!out_png.parent_path().empty()) ensure_directory(out_png.parent_path());
  const fs::path temporary = temporary_path_for(out_png);
  if (!std::ofstream(temporary, std::ios::binary | std::ios::trunc)) {
    throw IoError(out_png.string() + ": cannot open for writing (" + std::strerror(errno) +
                  "); check the folder is writable");
  }
  std::string failure;
  {
    const std::lock_guard<std::mutex> lock(plplot_mutex);
    if (!has_pngcairo_device()) {
      failure = "PLplot has no pngcairo device; install plplot-driver-cairo";
    } else {
      PLINT previous = 0, stream = 0;
      plgstrm(&previous);
      plsexit(throw_on_plplot_exit);
      plsabort(log_plplot_message);
      plmkstrm(&stream);
      try {
        render(panels, x_max, heading, temporary);
        plend1();  // the cairo driver writes the PNG here
      } catch (const std::exception& error) {
        failure = std::string("PLplot: ") + error.what();
        try {
          plend1();
        } catch (const std::exception&) {
        }
      }
      plsstrm(previous);
      plsexit(nullptr);
      plsabort(nullptr);
    }
  }
  std::error_code ignored;
  if (!failure.empty()) {
    fs::remove(temporary, ignored);
    throw IoError(out_png.string() + ": cannot draw the loss curves (" + failure + ")");
  }
  std::ifstream check(temporary, std::ios::binary);
  char signature[8] = {};
  check.read(signature, sizeof signature);
  if (!check || std::memcmp(signature, "\x89PNG\r\n\x1a\n", 8) != 0) {
    fs::remove(temporary, ignored);
    throw IoError(out_png.string() + ": PLplot wrote no PNG; is plplot-driver-cairo installed?");
  }
  commit_file(temporary, out_png);
}
#endif

// The last step of any row, widened a little so the last points sit inside the frame.
double step_range(const Metrics& metrics, double x_max) {
  for (const SplitRows* rows : {&metrics.train, &metrics.val}) {
    if (!rows->empty()) x_max = std::max(x_max, double(rows->rbegin()->first));
  }
  return x_max;
}

}  // namespace

void write_curves_png(const fs::path& metrics_csv, const fs::path& out_png,
                      const std::string& title) {
  const Metrics metrics = read_metrics(metrics_csv);
#if !VAE_HAVE_PLPLOT
  (void)title;
  throw MissingFeature(out_png.string() + ": cannot draw the loss curves: " + kCurvesMissing);
#else
  std::string heading = title;
  if (heading.empty()) {
    std::error_code ignored;
    const fs::path run = fs::weakly_canonical(metrics_csv, ignored).parent_path();
    heading = (run.filename().empty() ? std::string("run") : run.filename().string()) + ": loss curves";
  }
  write_panels_png(make_panels(metrics), 1.02 * step_range(metrics, 1.0), heading, out_png);
#endif
}

void write_comparison_png(const std::vector<std::pair<std::string, fs::path>>& runs,
                          const fs::path& out_png, const std::string& title) {
  std::vector<std::pair<std::string, Metrics>> read;
  double x_max = 1.0;
  for (const auto& [name, metrics_csv] : runs) {
    Metrics metrics = read_metrics(metrics_csv);
    if (metrics.val.empty()) {
      throw DataError(metrics_csv.string() + ": no validation rows yet; vae train writes one at the end of "
                      "every epoch (or at train.max_steps)");
    }
    x_max = step_range(metrics, x_max);
    read.emplace_back(name, std::move(metrics));
  }
#if !VAE_HAVE_PLPLOT
  (void)title;
  throw MissingFeature(out_png.string() + ": cannot draw the loss curves: " + kCurvesMissing);
#else
  write_panels_png(comparison_panels(read), 1.02 * x_max, title, out_png);
#endif
}

}  // namespace vae
