#pragma once
// The store test suite: the behaviour every DataStore and KeyStore backend must show, written
// against store.h only. A backend instantiates each suite with its factory, in its own test file:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, DataStoreSuite, ::testing::Values(SqliteFactory()),
//                            medvault::store::testing::FactoryName);
//
// (and the same for KeyStoreSuite and StoreConcurrencySuite), linking mv_store_testsuite, an
// OBJECT library so that the suites' tests are not dropped by the linker.
// Test-only. Not thread-safe.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/testing/temp_dir.h"
#include "store/store.h"

namespace medvault::store::testing {

struct StoreFactory {
  std::string name;  // a test-name fragment: letters and digits only
  // Open the backend's stores for the vault directory `dir`. Opening the same `dir` again must
  // give back what was committed before (the durability tests close and reopen).
  std::function<Result<std::unique_ptr<DataStore>>(const std::string& dir)> data;
  std::function<Result<std::unique_ptr<KeyStore>>(const std::string& dir)> keys;
};

std::string FactoryName(const ::testing::TestParamInfo<StoreFactory>& info);

// Opens both stores in a fresh directory; Reopen() closes and reopens them on the same one.
class StoreFixture : public ::testing::TestWithParam<StoreFactory> {
 public:
  // Rows with distinctive content; `tag` makes the envelopes of different patients differ.
  static PracticeRow Practice(const std::string& id);
  static UserRow User(const std::string& id, const std::string& practice_id,
                      const std::string& login);
  static PatientRow Patient(const std::string& practice_id, const std::string& id, uint8_t tag);
  static PatientKeyRow PatientKey(const std::string& practice_id, const std::string& patient_id,
                                  uint8_t tag);

 protected:
  void SetUp() override;
  void Reopen();

  const std::string& dir() const { return dir_.path(); }
  DataStore& data() { return *data_; }
  KeyStore& keys() { return *keys_; }

  // Creates practice `practice_id` if needed, then inserts the patients in one committed batch,
  // each with the given index entries.
  void InsertPatients(const std::string& practice_id, const std::vector<std::string>& ids,
                      const std::vector<IndexEntry>& index = {});
  // Ids in list order.
  std::vector<std::string> ListIds(const std::string& practice_id);

 private:
  medvault::testing::TempDir dir_;
  std::unique_ptr<DataStore> data_;
  std::unique_ptr<KeyStore> keys_;
};

class DataStoreSuite : public StoreFixture {};
class KeyStoreSuite : public StoreFixture {};
class StoreConcurrencySuite : public StoreFixture {};

}  // namespace medvault::store::testing
