// LineFramer: one environment's output reaches the shared function log in whole lines only.
#include <gtest/gtest.h>

#include <string>

#include "runtimed/controller/function_log.hpp"

namespace {

using runtimed::LineFramer;

TEST(LineFramer, WholeLinesPassAtOnce) {
  LineFramer f;
  EXPECT_EQ(f.feed("a\nb\n"), "a\nb\n");
  EXPECT_FALSE(f.holding());
  EXPECT_EQ(f.flush(), "");
}

TEST(LineFramer, APartialLineWaitsForItsNewline) {
  LineFramer f;
  EXPECT_EQ(f.feed("ATTEMPT"), "");
  EXPECT_TRUE(f.holding());
  EXPECT_EQ(f.feed(" k116"), "");
  EXPECT_EQ(f.feed("\nnext"), "ATTEMPT k116\n");
  EXPECT_EQ(f.feed(" line\nand more\nrest"), "next line\nand more\n");
  EXPECT_EQ(f.flush(), "rest\n");
  EXPECT_FALSE(f.holding());
}

TEST(LineFramer, FlushEndsAnUnfinishedLineWithANewline) {
  LineFramer f;
  EXPECT_EQ(f.feed("no newline"), "");
  EXPECT_EQ(f.flush(), "no newline\n");
  EXPECT_EQ(f.flush(), "");
}

TEST(LineFramer, EmptyChunksAndBareNewlines) {
  LineFramer f;
  EXPECT_EQ(f.feed(""), "");
  EXPECT_EQ(f.feed("\n\n"), "\n\n");
  EXPECT_EQ(f.feed("x"), "");
  EXPECT_EQ(f.feed("\n"), "x\n");
}

TEST(LineFramer, AnEndlessLineLeavesInBoundedPieces) {
  LineFramer f;
  std::string out;
  const std::string chunk(64 * 1024, 'z');
  for (int i = 0; i < 10; ++i) out += f.feed(chunk);  // 640 KiB, no newline
  // Two whole pieces of kMaxLine, each ended; the rest still held.
  EXPECT_EQ(out.size(), 2 * (LineFramer::kMaxLine + 1));
  EXPECT_EQ(out[LineFramer::kMaxLine], '\n');
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(f.flush().size(), 10 * chunk.size() - 2 * LineFramer::kMaxLine + 1);
}

}  // namespace
