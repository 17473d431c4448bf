#include "errors.hpp"
#include "metrics.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace glia::core;

TEST_CASE("regression metrics match hand-computed values") {
  // sklearn: y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0, 2, 8] -> mse 0.375, mae 0.5, r2 0.9486...
  const std::vector<double> t{3, -0.5, 2, 7}, p{2.5, 0, 2, 8};
  const RegressionScores s = regression_scores(t.data(), p.data(), 4, 1);
  CHECK(s.mse == Approx(0.375));
  CHECK(s.rmse == Approx(std::sqrt(0.375)));
  CHECK(s.mae == Approx(0.5));
  CHECK(s.r2 == Approx(0.9486081370449679));

  // Two targets: scores are averaged over targets; rmse is the mean of per-target RMSEs.
  const std::vector<double> t2{0.5, 1, -1, 1, 7, -6}, p2{0, 2, -1, 2, 8, -5};
  const RegressionScores m = regression_scores(t2.data(), p2.data(), 3, 2);
  // Target 0 errors: 0.5, 0, 1; target 1 errors: 1, 1, 1.
  CHECK(m.mse == Approx((1.25 / 3 + 1.0) / 2));
  CHECK(m.rmse == Approx((std::sqrt(1.25 / 3) + 1.0) / 2));
  CHECK(m.mae == Approx((1.5 / 3 + 1.0) / 2));
  CHECK(m.r2 == Approx(0.9368005266622779));  // sklearn r2_score(..., multioutput='uniform_average')
}

TEST_CASE("regression metrics: constant targets and errors") {
  const std::vector<double> c{2, 2, 2}, exact{2, 2, 2}, off{2, 2, 3};
  CHECK(regression_scores(c.data(), exact.data(), 3, 1).r2 == 1.0);
  CHECK(regression_scores(c.data(), off.data(), 3, 1).r2 == 0.0);
  const std::vector<double> nan{1, NAN, 2};
  try {
    regression_scores(c.data(), nan.data(), 3, 1);
    FAIL("no error");
  } catch (const CoreError& e) {
    CHECK(e.kind() == ErrorKind::numeric);
    CHECK_THAT(e.what(), Catch::Contains("y_pred holds nan at row 1"));
  }
  try {
    regression_scores(nan.data(), c.data(), 3, 1);
    FAIL("no error");
  } catch (const CoreError& e) {
    CHECK(e.kind() == ErrorKind::data);
  }
  CHECK_THROWS_WITH(regression_scores(c.data(), c.data(), 0, 1), Catch::Contains("at least one row"));
}

TEST_CASE("classification metrics: confusion, accuracy, macro and binary F1") {
  const std::vector<int64_t> t{0, 1, 2, 0, 1, 2}, p{0, 2, 1, 0, 0, 1};
  const ClassificationScores s = classification_scores(t, p, 0);
  CHECK(s.classes == 3);
  CHECK(s.confusion == std::vector<int64_t>{2, 0, 0, 1, 0, 1, 0, 2, 0});
  CHECK(s.accuracy == Approx(2.0 / 6));
  CHECK(s.macro_f1 == Approx(0.26666666666666666));  // sklearn f1_score(average='macro')

  const std::vector<int64_t> bt{1, 1, 0, 0, 1}, bp{1, 0, 0, 1, 1};
  const ClassificationScores b = classification_scores(bt, bp, 2);
  CHECK(b.f1 == Approx(2.0 / 3));  // tp 2, fp 1, fn 1
  CHECK(b.macro_f1 == Approx((0.5 + 2.0 / 3) / 2));

  // A class absent from both arrays stays out of the macro average.
  const ClassificationScores z = classification_scores(std::vector<int64_t>{0, 2}, std::vector<int64_t>{0, 2}, 4);
  CHECK(z.confusion.size() == 16);
  CHECK(z.macro_f1 == 1.0);

  CHECK_THROWS_WITH(classification_scores(std::vector<int64_t>{0, 3}, std::vector<int64_t>{0, 1}, 3),
                    "y_true: label 3 at row 1 is out of range for classes = 3");
  CHECK_THROWS_WITH(classification_scores(std::vector<int64_t>{0}, std::vector<int64_t>{-2}, 0),
                    "y_pred: label -2 at row 0 is negative");
  CHECK_THROWS_WITH(classification_scores(std::vector<int64_t>{0}, std::vector<int64_t>{0, 1}, 0),
                    Catch::Contains("y_true has 1 rows, y_pred 2"));
}

TEST_CASE("argmax of scores") {
  const std::vector<double> s{0.1, 0.7, 0.2, 0.5, 0.5, 0.0, -1, -3, -2};
  CHECK(argmax_rows(s.data(), 3, 3) == std::vector<int64_t>{1, 0, 0});
  const std::vector<double> bad{0.1, NAN};
  CHECK_THROWS_WITH(argmax_rows(bad.data(), 1, 2), Catch::Contains("y_pred holds NaN at row 0, column 1"));
}
