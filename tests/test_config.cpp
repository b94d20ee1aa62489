// Config parsing: defaults, strictness, messages, --set overrides.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "vae/base/errors.h"
#include "vae/config/config.h"
#include "vae/data/loader.h"
#include "vae/model/loss.h"
#include "vae/model/model.h"

namespace {

using nlohmann::json;

std::string write_temp_config(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("vae_test_" + name + ".json");
  std::ofstream(path) << text;
  return path.string();
}

// The ConfigError message thrown by `f`, or "" when nothing was thrown.
template <class F>
std::string config_error(F&& f) {
  try {
    f();
  } catch (const vae::ConfigError& error) {
    EXPECT_EQ(error.exit_code(), 2);
    return error.what();
  }
  return "";
}

TEST(Config, DefaultsResolveToTypedConfig) {
  const vae::Config config = vae::config_from_json(vae::default_config_json());
  EXPECT_EQ(vae::to_string(config.data.dataset), "shapes");
  EXPECT_EQ(config.data.image_size, 32);
  EXPECT_EQ(config.model.hidden_dims, (std::vector<int64_t>{32, 64, 128}));
  EXPECT_EQ(vae::to_string(config.loss.likelihood), "bernoulli");
  EXPECT_DOUBLE_EQ(config.loss.beta, 1.0);
  EXPECT_EQ(config.train.max_steps, 0);
}

TEST(Config, EveryParamHasDescriptionAndAllowedText) {
  for (const auto& param : vae::config_params()) {
    EXPECT_FALSE(param.description.empty()) << param.key;
    EXPECT_FALSE(param.allowed.empty()) << param.key;
  }
  const std::vector<std::string> required = {
      "data.dataset", "data.root", "data.image_size", "data.channels", "model.latent_dim",
      "model.hidden_dims", "loss.likelihood", "loss.beta", "optim.name", "optim.lr",
      "optim.weight_decay", "train.epochs", "train.max_steps", "train.batch_size", "train.seed",
      "train.device"};
  for (const auto& key : required) {
    const auto& params = vae::config_params();
    EXPECT_TRUE(std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.key == key; }))
        << key;
  }
}

TEST(Config, FileValuesOverrideDefaults) {
  const auto path = write_temp_config("ok", R"({"name": "x", "train": {"epochs": 7}, "optim": {"lr": 0.01}})");
  const vae::Config config = vae::config_from_json(vae::load_config_json(path, {}));
  EXPECT_EQ(config.name, "x");
  EXPECT_EQ(config.train.epochs, 7);
  EXPECT_DOUBLE_EQ(config.optim.lr, 0.01);
  EXPECT_EQ(config.train.batch_size, 64);
}

TEST(Config, UnknownKeySuggestsClosestKey) {
  const auto path = write_temp_config("typo", R"({"train": {"epoch": 3}})");
  const std::string message = config_error([&] { vae::load_config_json(path, {}); });
  EXPECT_NE(message.find("unknown key 'train.epoch'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'train.epochs'"), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(Config, KeyInWrongSectionSuggestsTheRightOne) {
  const auto path = write_temp_config("section", R"({"data": {"lr": 0.1}})");
  const std::string message = config_error([&] { vae::load_config_json(path, {}); });
  EXPECT_NE(message.find("did you mean 'optim.lr'"), std::string::npos) << message;
}

TEST(Config, UnknownSectionIsAnError) {
  const auto path = write_temp_config("sect", R"({"trian": {"epochs": 3}})");
  const std::string message = config_error([&] { vae::load_config_json(path, {}); });
  EXPECT_NE(message.find("unknown key 'trian'"), std::string::npos) << message;
}

TEST(Config, WrongTypeNamesKeyValueAndAllowed) {
  const auto path = write_temp_config("type", R"({"train": {"batch_size": "big"}})");
  const std::string message = config_error([&] { vae::load_config_json(path, {}); });
  EXPECT_NE(message.find("train.batch_size must be an integer in [1, 65536], got \"big\""),
            std::string::npos)
      << message;
}

TEST(Config, OutOfRangeNamesKeyValueAndAllowed) {
  const auto path = write_temp_config("range", R"({"train": {"batch_size": -3}})");
  const std::string message = config_error([&] { vae::load_config_json(path, {}); });
  EXPECT_NE(message.find("train.batch_size must be an integer in [1, 65536], got -3"),
            std::string::npos)
      << message;
}

TEST(Config, EnumValueListsChoices) {
  const auto path = write_temp_config("enum", R"({"loss": {"likelihood": "laplace"}})");
  const std::string message = config_error([&] { vae::load_config_json(path, {}); });
  EXPECT_NE(message.find("one of: gaussian, bernoulli"), std::string::npos) << message;
}

TEST(Config, ChoiceKeysBecomeEnumsThatWriteBackAsTheirWords) {
  json resolved = vae::default_config_json();
  for (const char* assignment : {"loss.likelihood=gaussian", "data.range=symmetric", "model.activation=leaky_relu",
                                 "optim.name=sgd"}) {
    vae::apply_override(resolved, assignment);
  }
  const vae::Config config = vae::config_from_json(resolved);
  EXPECT_EQ(config.loss.likelihood, vae::Likelihood::Gaussian);
  EXPECT_EQ(config.data.range, vae::PixelRange::Symmetric);
  EXPECT_EQ(config.model.activation, vae::Activation::LeakyRelu);
  EXPECT_EQ(config.optim.name, vae::OptimizerName::Sgd);
  EXPECT_EQ(vae::to_string(vae::KlReduction::PerPixel), "per_pixel");
  EXPECT_EQ(nlohmann::json(vae::Upsample::Convt2), nlohmann::json("convt2"));
  EXPECT_EQ(vae::from_string<vae::KlSchedule>("capacity"), vae::KlSchedule::Capacity);
  const std::string message = config_error([] { vae::from_string<vae::Downsample>("avgpool"); });
  EXPECT_EQ(message, "model.downsample: got \"avgpool\"; allowed: one of stride, maxpool");
}

TEST(Config, ResumeMayChangeOnlyDeclaredKeys) {
  const auto& params = vae::config_params();
  for (const auto& key : vae::keys_resume_may_change()) {
    EXPECT_TRUE(std::any_of(params.begin(), params.end(), [&](const vae::ParamInfo& p) { return p.key == key; }))
        << key << " is not a config key";
  }
  const auto stored = vae::default_config_json();
  auto resolved = stored;
  vae::apply_override(resolved, "train.epochs=99");
  vae::apply_override(resolved, "data.root=/elsewhere");
  EXPECT_NO_THROW(vae::check_resume_changes(stored, resolved, "runs/a"));
  vae::apply_override(resolved, "loss.beta=4");
  try {
    vae::check_resume_changes(stored, resolved, "runs/a");
    FAIL() << "loss.beta accepted";
  } catch (const vae::ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("loss.beta cannot change when resuming (it changes the objective"),
              std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("vae train --config runs/a/config.json --set loss.beta=4"),
              std::string::npos) << error.what();
  }
  // A checkpoint written before a key existed (no data.resize) is read with that key at its
  // default (the reader resolves its config as a config file), so it resumes, and refuses any
  // other value.
  auto document = stored;
  document["data"].erase("resize");
  const auto older = vae::resolve_config_json(document, "last.pt");
  const auto same = stored;
  EXPECT_NO_THROW(vae::check_resume_changes(older, same, "runs/a"));
  auto changed = stored;
  vae::apply_override(changed, "data.resize=shorter_side");
  EXPECT_THROW(vae::check_resume_changes(older, changed, "runs/a"), vae::ConfigError);
}

// The README's key table is `vae train --list-keys --markdown`: every key once, in table order,
// with its default, range and description as declared.
TEST(Config, ReadmeKeyTableIsTheDeclaredTable) {
  std::ifstream readme(std::string(VAE_TEST_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(readme) << "README.md not found";
  std::vector<std::string> rows;
  std::string line;
  bool in_table = false;
  while (std::getline(readme, line)) {
    if (line == "| key | default | allowed | what it does |") in_table = true;
    else if (in_table && line.rfind("| `", 0) == 0) rows.push_back(line);
    else if (in_table && !rows.empty()) break;
  }
  const auto& params = vae::config_params();
  ASSERT_EQ(rows.size(), params.size()) << "regenerate the table with vae train --list-keys --markdown";
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(rows[i], vae::markdown_row(params[i])) << "README row " << i << "; regenerate the table with "
                                                        "vae train --list-keys --markdown";
  }
}

TEST(Config, EachDefaultIsTheConfigTables) {
  // The option structs of the lower layers start from the table's defaults, not their own.
  const vae::Config& defaults = vae::default_config();
  const vae::ModelOptions model;
  EXPECT_EQ(model.channels, defaults.data.channels);
  EXPECT_EQ(model.hidden_dims, defaults.model.hidden_dims);
  EXPECT_EQ(model.likelihood, defaults.loss.likelihood);
  const vae::LossSettings loss;
  EXPECT_EQ(loss.kl_reduction, defaults.loss.kl_reduction);
  const vae::LoaderOptions loader;
  EXPECT_EQ(loader.batch_size, defaults.train.batch_size);
  EXPECT_EQ(defaults.data.channels, 1);
}

TEST(Config, HiddenDimsMustBeNonEmptyIntegerList) {
  for (const char* bad : {R"({"model": {"hidden_dims": []}})", R"({"model": {"hidden_dims": [32, 1.5]}})",
                          R"({"model": {"hidden_dims": 32}})"}) {
    const auto path = write_temp_config("dims", bad);
    const std::string message = config_error([&] { vae::load_config_json(path, {}); });
    EXPECT_NE(message.find("model.hidden_dims must be a non-empty list of integers"),
              std::string::npos)
        << bad << " -> " << message;
  }
}

TEST(Config, MalformedJsonGivesLineAndColumn) {
  const auto path = write_temp_config("malformed", "{\n  \"train\": {\n    \"epochs\": 3,\n  }\n}\n");
  const std::string message = config_error([&] { vae::load_config_json(path, {}); });
  EXPECT_NE(message.find(path + ":4:3: malformed JSON"), std::string::npos) << message;
}

TEST(Config, MissingFileIsAConfigError) {
  const std::string message = config_error([] { vae::load_config_json("/nonexistent/x.json", {}); });
  EXPECT_NE(message.find("/nonexistent/x.json"), std::string::npos) << message;
}

TEST(Config, TopLevelMustBeAnObject) {
  const auto path = write_temp_config("array", "[1, 2]");
  EXPECT_NE(config_error([&] { vae::load_config_json(path, {}); }).find("JSON object"), std::string::npos);
}

TEST(Config, SetOverridesParseNumbersListsAndBareStrings) {
  const auto path = write_temp_config("set", "{}");
  const json resolved = vae::load_config_json(
      path, {"train.epochs=3", "optim.lr=3e-4", "model.hidden_dims=[8,16]", "optim.name=adamw",
             "model.batch_norm=true", "name=\"quoted\""});
  const vae::Config config = vae::config_from_json(resolved);
  EXPECT_EQ(config.train.epochs, 3);
  EXPECT_DOUBLE_EQ(config.optim.lr, 3e-4);
  EXPECT_EQ(config.model.hidden_dims, (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(vae::to_string(config.optim.name), "adamw");
  EXPECT_TRUE(config.model.batch_norm);
  EXPECT_EQ(config.name, "quoted");
}

TEST(Config, SetGoesThroughTheSameChecks) {
  json resolved = vae::default_config_json();
  EXPECT_NE(config_error([&] { vae::apply_override(resolved, "train.epochs=0"); })
                .find("--set: train.epochs must be an integer in [1, 100000], got 0"),
            std::string::npos);
  EXPECT_NE(config_error([&] { vae::apply_override(resolved, "train.epoch=2"); })
                .find("did you mean 'train.epochs'"),
            std::string::npos);
  EXPECT_NE(config_error([&] { vae::apply_override(resolved, "optim.lr=fast"); })
                .find("optim.lr must be a number"),
            std::string::npos);
  EXPECT_NE(config_error([&] { vae::apply_override(resolved, "no_equals_sign"); }).find("KEY=VALUE"),
            std::string::npos);
}

TEST(Config, DeviceIsCheckedWhenTheConfigIsRead) {
  json resolved = vae::default_config_json();
  for (const char* good : {"auto", "cpu", "cuda", "cuda:1", "mps"}) {
    EXPECT_NO_THROW(vae::apply_override(resolved, std::string("train.device=") + good)) << good;
  }
  EXPECT_NE(config_error([&] { vae::apply_override(resolved, "train.device=gpu"); })
                .find("train.device must be auto, cpu, cuda, cuda:N or mps, got \"gpu\""),
            std::string::npos);
  EXPECT_NE(config_error([&] { vae::apply_override(resolved, "train.device=cuda:x"); }), "");
}

TEST(Config, BernoulliNeedsUnitRange) {
  json resolved = vae::default_config_json();
  vae::apply_override(resolved, "data.range=symmetric");
  EXPECT_NE(config_error([&] { vae::config_from_json(resolved); }).find("data.range"), std::string::npos);
  vae::apply_override(resolved, "loss.likelihood=gaussian");
  EXPECT_NO_THROW(vae::config_from_json(resolved));
}

TEST(Config, PresetShapesConfigIsValid) {
  const json resolved = vae::load_config_json(std::string(VAE_TEST_SOURCE_DIR) + "/configs/shapes.json", {});
  const vae::Config config = vae::config_from_json(resolved);
  EXPECT_EQ(vae::to_string(config.data.dataset), "shapes");
}

// A relative data.root (or data.cache_dir) in a config file is taken from the file's folder, one
// given with --set from the current folder; either way the resolved config holds an absolute path,
// so the run (and its stored config.json) finds the data from any working directory.
TEST(Config, RelativePathsAreAnchoredWhereTheyWereWritten) {
  namespace fs = std::filesystem;
  const fs::path folder = fs::temp_directory_path() / "vae_test_anchor" / "presets";
  fs::create_directories(folder);
  std::ofstream(folder / "c.json") << R"({"data": {"dataset": "folder", "root": "../photos", "cache_dir": ""}})";
  const json from_file = vae::load_config_json((folder / "c.json").string(), {});
  EXPECT_EQ(from_file["data"]["root"], (fs::absolute(folder) / ".." / "photos").lexically_normal().string());
  EXPECT_EQ(from_file["data"]["cache_dir"], "");  // empty stays empty (the default cache folder)
  const json from_set = vae::load_config_json((folder / "c.json").string(), {"data.root=mine", "data.cache_dir=/abs/c"});
  EXPECT_EQ(from_set["data"]["root"], (fs::current_path() / "mine").string());
  EXPECT_EQ(from_set["data"]["cache_dir"], "/abs/c");
  // A config file named without a folder is in the current one.
  const fs::path previous = fs::current_path();
  fs::current_path(folder);
  const json bare = vae::load_config_json("c.json", {});
  fs::current_path(previous);
  EXPECT_EQ(bare["data"]["root"], from_file["data"]["root"]);
  // The presets point at data/<name> in the repository, where the download scripts put it.
  const json preset = vae::load_config_json(std::string(VAE_TEST_SOURCE_DIR) + "/configs/mnist.json", {});
  EXPECT_EQ(preset["data"]["root"], (fs::absolute(fs::path(VAE_TEST_SOURCE_DIR)) / "data" / "mnist").lexically_normal().string());
}

// A run name is one folder name: runs/<name> can never leave runs/ or replace runs/latest.
TEST(Config, RunNameIsOnePathComponent) {
  for (const std::string name : {"../../x", "/tmp/abs", "a/b", ".", "..", "latest", "", "a\\b"}) {
    auto resolved = vae::default_config_json();
    resolved["name"] = name;
    const std::string message = config_error([&] { vae::config_from_json(resolved); });
    EXPECT_NE(message.find("is not a run name; use one folder name without '/'"), std::string::npos)
        << name << ": " << message;
  }
  auto resolved = vae::default_config_json();
  resolved["name"] = "cifar10-beta4_run.2";
  EXPECT_NO_THROW(vae::config_from_json(resolved));
}

// A config that cannot be opened says why: missing, or a loop of symbolic links.
TEST(Config, AnUnopenableConfigSaysWhy) {
  namespace fs = std::filesystem;
  const fs::path folder = fs::temp_directory_path() / ("vae_test_unopenable_" + std::to_string(::getpid()));
  fs::remove_all(folder);
  fs::create_directories(folder);
  fs::create_symlink(folder / "b.json", folder / "a.json");
  fs::create_symlink(folder / "a.json", folder / "b.json");
  const struct { fs::path path; const char* reason; } cases[] = {
      {folder / "a.json", "(Too many levels of symbolic links)"}, {folder / "absent.json", "(No such file or directory)"}};
  for (const auto& c : cases) {
    try {
      vae::load_config_json(c.path.string(), {});
      ADD_FAILURE() << c.path;
    } catch (const vae::ConfigError& error) {
      EXPECT_NE(std::string(error.what()).find("config file '" + c.path.string() + "' cannot be opened " + c.reason),
                std::string::npos) << error.what();
    }
  }
  fs::remove_all(folder);
}

// A key given twice in one object would silently keep the last: refused, naming the key; a number
// beyond double's range is malformed JSON, not a raw library error.
TEST(Config, RepeatedKeysAndHugeNumbersAreRefused) {
  const auto twice = write_temp_config("twice", R"({"train": {"epochs": 2}, "train": {"seed": 3}})");
  EXPECT_NE(config_error([&] { vae::load_config_json(twice, {}); }).find("key train appears twice in one object"),
            std::string::npos);
  const auto nested = write_temp_config("nested", R"({"train": {"epochs": 2, "seed": 1, "epochs": 3}})");
  EXPECT_NE(config_error([&] { vae::load_config_json(nested, {}); }).find("key train.epochs appears twice"),
            std::string::npos);
  const auto siblings = write_temp_config("siblings", R"({"train": {"epochs": 2}, "optim": {"lr": 0.1}, "data": {"flip": true}})");
  EXPECT_NO_THROW(vae::load_config_json(siblings, {}));
  auto resolved = vae::default_config_json();
  EXPECT_NE(config_error([&] { vae::apply_override(resolved, "name=caf\xe9"); })
                .find("--set name: the value is not valid UTF-8 text"),
            std::string::npos);
  const auto huge = write_temp_config("huge", R"({"optim": {"lr": 1e400}})");
  const std::string message = config_error([&] { vae::load_config_json(huge, {}); });
  EXPECT_NE(message.find("malformed JSON"), std::string::npos) << message;
  EXPECT_NE(message.find("1e400"), std::string::npos) << message;
}

}  // namespace
