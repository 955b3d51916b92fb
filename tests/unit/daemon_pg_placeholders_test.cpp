// The store's SQL runs on PostgreSQL with its ?N parameters renumbered $N, and nothing else
// touched: not a ? inside a literal, a quoted identifier or a comment.
#include <gtest/gtest.h>

#include "runtimed/cluster/pg_state_backend.hpp"

namespace {

using cluster::postgres_placeholders;

TEST(PgPlaceholdersTest, NumberedParametersBecomeDollarParameters) {
  EXPECT_EQ(postgres_placeholders("SELECT config FROM functions WHERE name = ?1 AND v > ?12"),
            "SELECT config FROM functions WHERE name = $1 AND v > $12");
  EXPECT_EQ(postgres_placeholders("VALUES (?1, ?2, ?1)"), "VALUES ($1, $2, $1)");
}

TEST(PgPlaceholdersTest, LiteralsIdentifiersAndCommentsAreLeftAsTheyAre) {
  EXPECT_EQ(postgres_placeholders("SELECT '?1', \"a?2\" -- ?3\n, ?4"),
            "SELECT '?1', \"a?2\" -- ?3\n, $4");
  EXPECT_EQ(postgres_placeholders("SELECT 'it''s ?1' || ?2"), "SELECT 'it''s ?1' || $2");
  // A ? not followed by a digit is an operator (jsonb's key test), not a parameter.
  EXPECT_EQ(postgres_placeholders("SELECT config::jsonb ? 'layers'"),
            "SELECT config::jsonb ? 'layers'");
  EXPECT_EQ(postgres_placeholders("SELECT 'unterminated ?1"), "SELECT 'unterminated ?1");
}

}  // namespace
