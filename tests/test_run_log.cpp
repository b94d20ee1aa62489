// The run log: metrics.csv's declared columns, the writer (header once, rows in column order,
// appending for a resumed run), RunLog's TensorBoard file, and the curves reading what it wrote.
// Also the small text helpers of the base layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "test_files.h"
#include "vae/base/errors.h"
#include "vae/base/fs.h"
#include "vae/base/text.h"
#include "vae/logs/curves.h"
#include "vae/logs/metrics_csv.h"
#include "vae/logs/run_log.h"

namespace {
namespace fs = std::filesystem;
using vae_test::read_bytes;
using vae_test::scratch_dir;

vae::MetricsRow row(int64_t step, const std::string& split, double loss) {
  return {1, step, split, {loss, loss - 1, 1.0, -(loss)}, 0.001, 250.5, 1.25, 0.5};
}

TEST(MetricsCsv, HeaderIsTheDeclaredColumnsInOrder) {
  EXPECT_EQ(vae::metrics_header(), "epoch,step,split,loss,recon,kl,elbo,lr,images_per_s,seconds,kl_weight");
  EXPECT_STREQ(vae::column_name(vae::MetricsColumn::kl_weight), "kl_weight");
}

TEST(MetricsCsv, WritesTheHeaderOnceAndAppendsRowsInColumnOrder) {
  const fs::path dir = scratch_dir("runlog", "append");
  const fs::path path = dir / "metrics.csv";
  {
    vae::MetricsCsvWriter writer(path);
    writer.append(row(50, "train", 100.5));
  }
  {
    vae::MetricsCsvWriter resumed(path);  // a resumed run appends, without a second header
    resumed.append(row(100, "val", 90.25));
  }
  EXPECT_EQ(read_bytes(path),
            "epoch,step,split,loss,recon,kl,elbo,lr,images_per_s,seconds,kl_weight\n"
            "1,50,train,100.5,99.5,1,-100.5,0.001,250.5,1.25,0.5\n"
            "1,100,val,90.25,89.25,1,-90.25,0.001,250.5,1.25,0.5\n");
}

TEST(MetricsCsv, DropsRowsAfterAStepAndAnUnfinishedLine) {
  const fs::path path = scratch_dir("runlog", "drop") / "metrics.csv";
  EXPECT_EQ(vae::drop_metrics_rows_after(path, 10), 0);  // no file yet
  {
    vae::MetricsCsvWriter writer(path);
    for (const int64_t step : {5, 10}) writer.append(row(step, "train", 3.0));
    writer.append(row(10, "val", 2.0));
    writer.append(row(15, "train", 1.0));
  }
  const std::string kept = read_bytes(path).substr(0, read_bytes(path).find("1,15,"));
  { std::ofstream(path, std::ios::app) << "1,20,tra"; }
  EXPECT_EQ(vae::drop_metrics_rows_after(path, 10), 2);
  EXPECT_EQ(read_bytes(path), kept);
  EXPECT_EQ(vae::drop_metrics_rows_after(path, 10), 0);  // nothing more to drop: the file stays
  EXPECT_EQ(read_bytes(path), kept);
}

TEST(MetricsCsv, UnwritableFolderIsAnIoErrorNamingThePath) {
  try {
    vae::MetricsCsvWriter writer("/nonexistent-folder/metrics.csv");
    FAIL() << "no error";
  } catch (const vae::IoError& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent-folder/metrics.csv"), std::string::npos);
  }
}

TEST(RunLog, WritesMetricsAndATensorBoardFileThatTheCurvesRead) {
  const fs::path dir = scratch_dir("runlog", "both");
  {
    vae::RunLog log(dir, /*tensorboard=*/true);
    log.train(row(10, "train", 200), 3.5);
    log.train(row(20, "train", 150), 2.5);
    log.validation(row(20, "val", 160));
    log.flush();
  }
  const std::string csv = read_bytes(dir / "metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  ASSERT_TRUE(fs::is_directory(dir / "tb"));
  size_t events = 0;
  for (const auto& entry : fs::directory_iterator(dir / "tb")) {
    events += entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0 ? 1 : 0;
    EXPECT_GT(fs::file_size(entry.path()), 100u);
  }
  EXPECT_EQ(events, 1u);
  if (vae::curves_available()) {
    vae::write_curves_png(dir / "metrics.csv", dir / "curves.png");
    EXPECT_EQ(read_bytes(dir / "curves.png").substr(1, 3), "PNG");
  }
}

TEST(RunLog, WithoutTensorBoardWritesNoEventFolder) {
  const fs::path dir = scratch_dir("runlog", "csv_only");
  {
    vae::RunLog log(dir, /*tensorboard=*/false);
    log.validation(row(5, "val", 10));
    log.flush();
  }
  EXPECT_FALSE(fs::exists(dir / "tb"));
  EXPECT_TRUE(fs::exists(dir / "metrics.csv"));
}

TEST(Text, CsvFieldQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(vae::csv_field("plain"), "plain");
  EXPECT_EQ(vae::csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(vae::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(vae::csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(Text, SquareGridColumnsIsTheCeilingOfTheSquareRoot) {
  EXPECT_EQ(vae::square_grid_columns(0), 1);
  EXPECT_EQ(vae::square_grid_columns(1), 1);
  EXPECT_EQ(vae::square_grid_columns(16), 4);
  EXPECT_EQ(vae::square_grid_columns(17), 5);
  EXPECT_GE(vae::default_threads(), 1);
}

TEST(Fs, FirstFreePathNumbersFromTwo) {
  const fs::path dir = scratch_dir("runlog", "free");
  EXPECT_EQ(vae::first_free_path(dir, "run"), dir / "run");
  fs::create_directory(dir / "run");
  EXPECT_EQ(vae::first_free_path(dir, "run"), dir / "run-2");
  fs::create_directory(dir / "run-2");
  EXPECT_EQ(vae::first_free_path(dir, "run"), dir / "run-3");
}

}  // namespace
