#include <algorithm>

#include "store/testsuite/store_testsuite.h"

namespace medvault::store::testing {

std::string FactoryName(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

void StoreFixture::SetUp() { Reopen(); }

void StoreFixture::Reopen() {
  // Close first: a backend may hold a file lock that the new instance needs.
  data_.reset();
  keys_.reset();
  auto data = GetParam().data(dir());
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  data_ = std::move(data).value();
  auto keys = GetParam().keys(dir());
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  keys_ = std::move(keys).value();
}

PracticeRow StoreFixture::Practice(const std::string& id) {
  return PracticeRow{id, "Cabinet " + id, 1'700'000'000'000'000};
}

UserRow StoreFixture::User(const std::string& id, const std::string& practice_id,
                           const std::string& login) {
  UserRow row;
  row.id = id;
  row.practice_id = practice_id;
  row.login = login;
  row.display_name = "Dr " + login;
  row.role = Role::kPractitioner;
  row.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  row.totp_sealed = Bytes{1, 2, 3, 4, 5};
  row.totp_last_step = 10;
  row.created = 1'700'000'000'000'001;
  return row;
}

PatientRow StoreFixture::Patient(const std::string& practice_id, const std::string& id,
                                 uint8_t tag) {
  PatientRow row;
  row.id = id;
  row.practice_id = practice_id;
  row.key_version = 2;
  row.identity = Bytes(40, tag);
  row.contact = Bytes(30, static_cast<uint8_t>(tag ^ 0x55));
  row.insurance = Bytes(20, static_cast<uint8_t>(tag ^ 0xAA));
  row.created = 1'700'000'000'000'000 + tag;
  row.updated = row.created + 1;
  return row;
}

PatientKeyRow StoreFixture::PatientKey(const std::string& practice_id,
                                       const std::string& patient_id, uint8_t tag) {
  return PatientKeyRow{practice_id, patient_id, 1, 1, Bytes(72, tag)};
}

void StoreFixture::InsertPatients(const std::string& practice_id,
                                  const std::vector<std::string>& ids,
                                  const std::vector<IndexEntry>& index) {
  if (!data().GetPractice(practice_id).ok()) {
    ASSERT_TRUE(data().CreatePractice(Practice(practice_id)).ok());
  }
  auto batch = data().BeginPatientBatch();
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  uint8_t tag = 1;
  for (const std::string& id : ids) {
    Status status = (*batch)->Add(Patient(practice_id, id, tag++), index);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  Status status = (*batch)->Commit();
  ASSERT_TRUE(status.ok()) << status.ToString();
}

std::vector<std::string> StoreFixture::ListIds(const std::string& practice_id) {
  std::vector<std::string> ids;
  auto rows = data().ListPatients(practice_id, 0, 1'000'000);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  if (!rows.ok()) return ids;
  for (const PatientRow& row : *rows) ids.push_back(row.id);
  return ids;
}

}  // namespace medvault::store::testing
