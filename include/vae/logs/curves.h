// Loss curves of a run: a PNG drawn with PLplot (cairo PNG driver) from the run's metrics.csv,
// training and validation terms against optimizer steps. No LibTorch; `vae plot` and the end of
// training call it.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace vae {

// Reads metrics.csv (header `epoch,step,split,loss,recon,kl,elbo,...`, `train` and `val` rows, as
// vae train writes it) and draws three panels against the optimizer step, training as lines and
// validation as marked points: the negative ELBO and the reconstruction term (nats per image),
// the KL term (nats per image), and the training objective `loss` (in the units of the config's
// reductions). `title` defaults to "<run folder name>: loss curves".
//
// The PNG is written to a temporary file next to `out_png` and renamed, so a partial picture is
// never left behind. Rows written again by a resumed run replace the earlier ones of the same step;
// non-finite values are left out; an unfinished last line (training still writing) is ignored.
// PLplot runs in a stream of its own (restored afterwards) with its messages sent to the debug
// log, under a lock, so it can be called at the end of training or from several threads.
//
// Throws IoError when metrics.csv cannot be read or the PNG cannot be written, DataError when
// metrics.csv is empty, lacks a column, has a malformed row or holds no rows yet; each message
// names the file.
// In a build without PLplot it reads and checks metrics.csv as above, then throws MissingFeature
// (kCurvesMissing says how to get it).
void write_curves_png(const std::filesystem::path& metrics_csv,
                      const std::filesystem::path& out_png, const std::string& title = "");

// The validation curves of several runs overlaid in one PNG: the negative ELBO, the KL term and
// the objective against the optimizer step, one colour per run, a legend with the `runs` names
// (name, metrics.csv). The same reading, temporary-file and error rules as write_curves_png; a run
// without a validation row yet is a DataError naming its metrics.csv.
void write_comparison_png(const std::vector<std::pair<std::string, std::filesystem::path>>& runs,
                          const std::filesystem::path& out_png, const std::string& title);

// Whether this build can draw curves (it was built with PLplot).
bool curves_available();
extern const char* const kCurvesMissing;

}  // namespace vae
