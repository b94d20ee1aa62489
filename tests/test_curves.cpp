// Loss curves (write_curves_png): a PNG of the page size with the curves in it drawn from a
// metrics.csv written here, the edge cases of real runs (one validation point, a resumed run's
// repeated rows, a row being written), and one-line errors naming the file for missing, empty
// and damaged metrics files, with no PNG left behind.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#if VAE_HAVE_PLPLOT
#include <plplot.h>
#endif

#include "vae/logs/curves.h"
#include "vae/base/errors.h"
#include "vae/io/image_codec.h"
#include "test_files.h"

#define REQUIRE_PLPLOT() SKIP_WITHOUT(VAE_HAVE_PLPLOT, "PLplot")

namespace {
namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) { return vae_test::scratch_dir("curves", name); }

const char* kHeader = "epoch,step,split,loss,recon,kl,elbo,lr,images_per_s,seconds,kl_weight\n";

// A plausible run: training rows every 10 steps over 3 epochs of 100 steps, a validation row per
// epoch; reconstruction falls from 500 to ~60 nats, KL rises from 2 to ~20.
std::string run_metrics() {
  std::ostringstream out;
  out << kHeader;
  for (int step = 10; step <= 300; step += 10) {
    const double recon = 60 + 440.0 * 10 / step, kl = 20 - 18.0 * 10 / step;
    out << (step - 1) / 100 + 1 << ',' << step << ",train," << recon + kl << ',' << recon << ','
        << kl << ',' << -(recon + kl) << ",0.001,900,1.5,1\n";
    if (step % 100 == 0) {
      out << step / 100 << ',' << step << ",val," << recon + kl + 3 << ',' << recon + 2 << ','
          << kl + 1 << ',' << -(recon + kl + 3) << ",0.001,0,2.5,1\n";
    }
  }
  return out.str();
}

struct PngFacts {
  int64_t width = 0, height = 0;
  size_t colours = 0;
};

PngFacts png_facts(const fs::path& path) {
  const vae::Image image = vae::load_image(path.string());
  std::set<uint32_t> colours;
  for (size_t i = 0; i + 2 < image.pixels.size(); i += size_t(image.channels)) {
    const uint32_t rgb = image.channels >= 3 ? (uint32_t(image.pixels[i]) << 16) |
                                                   (uint32_t(image.pixels[i + 1]) << 8) |
                                                   image.pixels[i + 2]
                                             : image.pixels[i];
    colours.insert(rgb);
  }
  return {image.width, image.height, colours.size()};
}

// The RGB colour of the validation curves (orange) and of the training curves (blue).
bool has_colour_near(const fs::path& path, int r, int g, int b) {
  const vae::Image image = vae::load_image(path.string());
  if (image.channels < 3) return false;
  for (size_t i = 0; i + 2 < image.pixels.size(); i += size_t(image.channels)) {
    if (std::abs(image.pixels[i] - r) < 12 && std::abs(image.pixels[i + 1] - g) < 12 &&
        std::abs(image.pixels[i + 2] - b) < 12) {
      return true;
    }
  }
  return false;
}

bool no_png_files(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".png") != std::string::npos) return false;
  }
  return true;
}

TEST(Curves, DrawsTrainingAndValidationCurvesIntoAPng) {
  REQUIRE_PLPLOT();
  const fs::path dir = fresh_dir("draw") / "my-run";
  fs::create_directories(dir);
  std::ofstream(dir / "metrics.csv") << run_metrics();
  vae::write_curves_png(dir / "metrics.csv", dir / "plots" / "curves.png");
  const PngFacts facts = png_facts(dir / "plots" / "curves.png");
  EXPECT_EQ(facts.width, 1200);
  EXPECT_EQ(facts.height, 1200);
  EXPECT_GT(facts.colours, 20u);  // anti-aliased text, axes, two curve colours: not blank
  EXPECT_TRUE(has_colour_near(dir / "plots" / "curves.png", 31, 119, 180));  // training
  EXPECT_TRUE(has_colour_near(dir / "plots" / "curves.png", 230, 97, 1));    // validation
  for (const auto& entry : fs::directory_iterator(dir / "plots")) {
    EXPECT_EQ(entry.path().filename(), "curves.png");  // no temporary left
  }
}

TEST(Curves, OneValidationPointAndOneTrainingRowStillShow) {
  REQUIRE_PLPLOT();
  const fs::path dir = fresh_dir("single");
  std::ofstream(dir / "metrics.csv")
      << kHeader << "1,8,train,80,60,20,-80,0.001,900,1,1\n"
      << "1,8,val,90,70,20,-90,0.001,0,1,1\n";
  vae::write_curves_png(dir / "metrics.csv", dir / "curves.png", "single point");
  EXPECT_TRUE(has_colour_near(dir / "curves.png", 31, 119, 180));
  EXPECT_TRUE(has_colour_near(dir / "curves.png", 230, 97, 1));
}

TEST(Curves, ToleratesResumedRowsNonFiniteValuesAndARowBeingWritten) {
  REQUIRE_PLPLOT();
  const fs::path dir = fresh_dir("tolerant");
  std::ofstream(dir / "metrics.csv", std::ios::binary)
      << kHeader << "1,10,train,80,60,20,-80,0.001,900,1,1\n"
      << "1,20,train,nan,nan,nan,nan,0.001,900,1,1\n"
      << "1,10,train,79,59,20,-79,0.001,900,1,1\n"   // written again by a resumed run
      << "1,30,train,70,52,18,-70,0.001,900,1,1\r\n"  // CRLF after an edit elsewhere
      << "1,40,tr";                                  // the trainer is writing this row
  vae::write_curves_png(dir / "metrics.csv", dir / "curves.png");
  EXPECT_GT(png_facts(dir / "curves.png").colours, 20u);
}

TEST(Curves, CanBeCalledRepeatedly) {
  REQUIRE_PLPLOT();
  const fs::path dir = fresh_dir("repeat");
  std::ofstream(dir / "metrics.csv") << run_metrics();
  for (int i = 0; i < 3; ++i) vae::write_curves_png(dir / "metrics.csv", dir / "curves.png");
  EXPECT_EQ(png_facts(dir / "curves.png").width, 1200);
}

// PLplot is global state: the drawing runs in a stream of its own and gives the caller's back.
TEST(Curves, LeavesTheCallersPlplotStreamCurrent) {
#if !VAE_HAVE_PLPLOT
  REQUIRE_PLPLOT();
#else
  const fs::path dir = fresh_dir("stream");
  std::ofstream(dir / "metrics.csv") << run_metrics();
  PLINT caller = -1;
  plmkstrm(&caller);
  plsdev("null");
  plinit();
  vae::write_curves_png(dir / "metrics.csv", dir / "curves.png");
  PLINT current = -1;
  plgstrm(&current);
  EXPECT_EQ(current, caller);
  plend1();
  EXPECT_EQ(png_facts(dir / "curves.png").width, 1200);
#endif
}

// Without PLplot, metrics.csv is still read and checked, then the error says what is missing.
TEST(Curves, WithoutPlplotTheErrorNamesWhatToInstall) {
  if (VAE_HAVE_PLPLOT) GTEST_SKIP() << "this vae has PLplot";
  const fs::path dir = fresh_dir("missing");
  std::ofstream(dir / "metrics.csv") << run_metrics();
  EXPECT_FALSE(vae::curves_available());
  try {
    vae::write_curves_png(dir / "metrics.csv", dir / "curves.png");
    FAIL() << "no error";
  } catch (const vae::MissingFeature& error) {
    EXPECT_NE(std::string(error.what()).find("built without PLplot"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("libplplot-dev"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(fs::exists(dir / "curves.png"));
}

TEST(Curves, ThreadsDrawingAtOnceEachGetTheirPicture) {
  REQUIRE_PLPLOT();
  const fs::path dir = fresh_dir("threads");
  std::ofstream(dir / "metrics.csv") << run_metrics();
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (size_t i = 0; i < errors.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        vae::write_curves_png(dir / "metrics.csv", dir / ("curves" + std::to_string(i) + ".png"));
      } catch (const std::exception& error) {
        errors[i] = error.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (size_t i = 0; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i], "");
    EXPECT_EQ(png_facts(dir / ("curves" + std::to_string(i) + ".png")).width, 1200);
  }
}

// Each bad file: the error type, a one-line message naming the file, and no PNG left.
struct BadMetrics {
  const char* name;
  const char* content;  // nullptr: no file at all
  bool io_error;        // IoError, else DataError
  const char* message;  // part of the message
};

void PrintTo(const BadMetrics& bad, std::ostream* out) { *out << bad.name; }

class CurvesBadInput : public ::testing::TestWithParam<BadMetrics> {};

TEST_P(CurvesBadInput, IsOneLineNamingTheFileAndLeavesNoPng) {
  const BadMetrics& bad = GetParam();
  const fs::path dir = fresh_dir(std::string("bad_") + bad.name);
  const fs::path metrics = dir / "metrics.csv";
  if (bad.content != nullptr) std::ofstream(metrics, std::ios::binary) << bad.content;
  try {
    vae::write_curves_png(metrics, dir / "curves.png");
    FAIL() << "expected an error";
  } catch (const vae::Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(dynamic_cast<const vae::IoError*>(&error) != nullptr, bad.io_error) << message;
    EXPECT_EQ(message.rfind(metrics.string(), 0), 0u) << message;
    EXPECT_NE(message.find(bad.message), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_TRUE(no_png_files(dir));
}

INSTANTIATE_TEST_SUITE_P(
    Files, CurvesBadInput,
    ::testing::Values(
        BadMetrics{"missing", nullptr, true, "cannot read metrics file"},
        BadMetrics{"empty", "", false, "empty"},
        BadMetrics{"header_only", kHeader, false, "no training or validation rows"},
        BadMetrics{"no_kl_column", "epoch,step,split,loss,recon,elbo\n1,2,train,1,1,1\n", false,
                   "no 'kl' column"},
        BadMetrics{"binary", "\x89PNG\r\n\x1a\n\x01\x02garbage\n\xff\xfe\n", false, "column"},
        BadMetrics{"short_row",
                   "epoch,step,split,loss,recon,kl,elbo\n1,2,train,1,1\n1,4,train,1,1,1,1\n",
                   false, ":2: 5 fields where the header has 7"},
        BadMetrics{"not_a_number", "epoch,step,split,loss,recon,kl,elbo\n1,2,train,1,x,1,1\n",
                   false, ":2: recon 'x' is not a number"},
        BadMetrics{"bad_step", "epoch,step,split,loss,recon,kl,elbo\n1,2.5,train,1,1,1,1\n",
                   false, ":2: step '2.5' is not an integer"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Curves, UnwritableOutputIsAnIoErrorNamingThePng) {
  REQUIRE_PLPLOT();
  const fs::path dir = fresh_dir("unwritable");
  std::ofstream(dir / "metrics.csv") << run_metrics();
  std::ofstream(dir / "file") << "x";  // a file where the output folder should be
  const fs::path out = dir / "file" / "curves.png";
  try {
    vae::write_curves_png(dir / "metrics.csv", out);
    FAIL() << "expected IoError";
  } catch (const vae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find((dir / "file").string()), std::string::npos)
        << error.what();
  }
}

}  // namespace
