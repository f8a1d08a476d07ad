// DataStoreSuite: every DataStore method, its errors, isolation between practices, batches.
#include <gmock/gmock.h>

#include <set>
#include <string>
#include <vector>

#include "store/testsuite/store_testsuite.h"

namespace medvault::store::testing {
namespace {

using Entries = std::vector<IndexEntry>;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint8_t kNameColumn = 1;
constexpr uint8_t kBirthColumn = 2;

Bytes TokenHash(uint8_t tag) { return Bytes(32, tag); }

SessionRow Session(uint8_t tag, const std::string& user_id) {
  return SessionRow{TokenHash(tag), user_id, "192.0.2.7", 100, 100, 1000, false};
}

AppointmentRow Appointment(const std::string& id, const std::string& practice_id,
                           const std::string& patient_id, UnixMicros start) {
  return AppointmentRow{id,    practice_id, patient_id, "dr.martin", "booked",
                        start, start + 900, "secretaire", 50};
}

NoteRow Note(const std::string& id, const std::string& practice_id,
             const std::string& patient_id, UnixMicros created) {
  return NoteRow{id, practice_id, patient_id, "dr.martin", 0x5, 0x2, Bytes(64, 0x33), created};
}

void ExpectSamePatient(const PatientRow& got, const PatientRow& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.practice_id, want.practice_id);
  EXPECT_EQ(got.key_version, want.key_version);
  EXPECT_EQ(got.identity, want.identity);
  EXPECT_EQ(got.contact, want.contact);
  EXPECT_EQ(got.insurance, want.insurance);
  EXPECT_EQ(got.canary, want.canary);
  EXPECT_EQ(got.created, want.created);
  EXPECT_EQ(got.updated, want.updated);
}

TEST_P(DataStoreSuite, MetaIsAbsentUntilSetAndCanBeOverwritten) {
  auto absent = data().GetMeta("vault_id");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  ASSERT_TRUE(data().SetMeta("vault_id", "v1").ok());
  ASSERT_TRUE(data().SetMeta("vault_id", "v2").ok());
  auto got = data().GetMeta("vault_id");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value_or(""), "v2");
}

TEST_P(DataStoreSuite, PracticesRoundTripAndIdsAreUnique) {
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  ASSERT_TRUE(data().CreatePractice(Practice("pb")).ok());
  EXPECT_EQ(data().CreatePractice(Practice("pa")).code(), Code::kAlreadyExists);
  auto got = data().GetPractice("pa");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "Cabinet pa");
  EXPECT_EQ(got->created, Practice("pa").created);
  EXPECT_EQ(data().GetPractice("pz").status().code(), Code::kNotFound);
  auto all = data().ListPractices();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "pa");
  EXPECT_EQ((*all)[1].id, "pb");
}

TEST_P(DataStoreSuite, UsersRoundTripAndLoginsAreUniqueAcrossTheVault) {
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  ASSERT_TRUE(data().CreatePractice(Practice("pb")).ok());
  UserRow martin = User("u1", "pa", "dr.martin");
  martin.role = Role::kSecretary;
  martin.locked = true;
  ASSERT_TRUE(data().CreateUser(martin).ok());
  EXPECT_EQ(data().CreateUser(User("u2", "pb", "dr.martin")).code(), Code::kAlreadyExists);
  EXPECT_EQ(data().CreateUser(User("u1", "pb", "dr.other")).code(), Code::kAlreadyExists);
  ASSERT_TRUE(data().CreateUser(User("u3", "", "rssi")).ok());

  auto by_login = data().GetUserByLogin("dr.martin");
  ASSERT_TRUE(by_login.ok());
  EXPECT_EQ(by_login->id, "u1");
  EXPECT_EQ(by_login->practice_id, "pa");
  EXPECT_EQ(by_login->display_name, martin.display_name);
  EXPECT_EQ(by_login->role, Role::kSecretary);
  EXPECT_EQ(by_login->password_hash, martin.password_hash);
  EXPECT_EQ(by_login->totp_sealed, martin.totp_sealed);
  EXPECT_EQ(by_login->totp_last_step, martin.totp_last_step);
  EXPECT_TRUE(by_login->locked);
  EXPECT_EQ(by_login->created, martin.created);
  auto by_id = data().GetUser("u3");
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->login, "rssi");
  EXPECT_EQ(by_id->practice_id, "");

  EXPECT_EQ(data().GetUserByLogin("nobody").status().code(), Code::kNotFound);
  EXPECT_EQ(data().GetUser("u9").status().code(), Code::kNotFound);

  auto of_pa = data().ListUsers("pa");
  ASSERT_TRUE(of_pa.ok());
  ASSERT_EQ(of_pa->size(), 1u);
  EXPECT_EQ((*of_pa)[0].login, "dr.martin");
  auto vault_wide = data().ListUsers("");
  ASSERT_TRUE(vault_wide.ok());
  ASSERT_EQ(vault_wide->size(), 1u);
  EXPECT_EQ((*vault_wide)[0].login, "rssi");
  auto of_pb = data().ListUsers("pb");
  ASSERT_TRUE(of_pb.ok());
  EXPECT_THAT(*of_pb, IsEmpty());
}

TEST_P(DataStoreSuite, SetUserLockedLocksAndUnlocks) {
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  ASSERT_TRUE(data().CreateUser(User("u1", "pa", "dr.martin")).ok());
  ASSERT_TRUE(data().SetUserLocked("dr.martin", true).ok());
  EXPECT_TRUE(data().GetUser("u1")->locked);
  ASSERT_TRUE(data().SetUserLocked("dr.martin", false).ok());
  EXPECT_FALSE(data().GetUser("u1")->locked);
  EXPECT_EQ(data().SetUserLocked("nobody", true).code(), Code::kNotFound);
}

TEST_P(DataStoreSuite, AdvanceTotpStepOnlyMovesForward) {
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  ASSERT_TRUE(data().CreateUser(User("u1", "pa", "dr.martin")).ok());  // last step 10
  EXPECT_FALSE(*data().AdvanceTotpStep("u1", 10));
  EXPECT_FALSE(*data().AdvanceTotpStep("u1", 9));
  EXPECT_TRUE(*data().AdvanceTotpStep("u1", 11));
  EXPECT_FALSE(*data().AdvanceTotpStep("u1", 11));
  EXPECT_TRUE(*data().AdvanceTotpStep("u1", 20));
  EXPECT_EQ(data().GetUser("u1")->totp_last_step, 20);
  EXPECT_EQ(data().AdvanceTotpStep("u9", 30).status().code(), Code::kNotFound);
}

TEST_P(DataStoreSuite, BatchInsertedPatientsRoundTripWithIncreasingSeq) {
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  auto batch = data().BeginPatientBatch();
  ASSERT_TRUE(batch.ok());
  PatientRow first = Patient("pa", "p1", 1);
  first.canary = true;
  PatientRow second = Patient("pa", "p2", 2);
  second.insurance.clear();  // an empty group is stored as empty, not as absent
  ASSERT_TRUE((*batch)->Add(first, {}).ok());
  ASSERT_TRUE((*batch)->Add(second, {}).ok());
  ASSERT_TRUE((*batch)->Commit().ok());
  batch->reset();

  auto got1 = data().GetPatient("pa", "p1");
  ASSERT_TRUE(got1.ok());
  ExpectSamePatient(*got1, first);
  auto got2 = data().GetPatient("pa", "p2");
  ASSERT_TRUE(got2.ok());
  ExpectSamePatient(*got2, second);
  EXPECT_GT(got1->seq, 0);
  EXPECT_GT(got2->seq, got1->seq);
}

TEST_P(DataStoreSuite, PatientOfAnotherPracticeIsNotFound) {
  InsertPatients("pa", {"p1"}, {{kNameColumn, 77}});
  InsertPatients("pb", {"q1"}, {{kNameColumn, 77}});
  EXPECT_EQ(data().GetPatient("pb", "p1").status().code(), Code::kNotFound);
  EXPECT_EQ(data().GetPatient("pa", "nope").status().code(), Code::kNotFound);
  EXPECT_EQ(data().UpdatePatient(Patient("pb", "p1", 9), {}).code(), Code::kNotFound);
  EXPECT_EQ(data().DeletePatient("pb", "p1").code(), Code::kNotFound);
  EXPECT_THAT(ListIds("pa"), ElementsAre("p1"));
  EXPECT_THAT(ListIds("pb"), ElementsAre("q1"));
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 77), ElementsAre("p1"));
  EXPECT_THAT(*data().FindByToken("pb", kNameColumn, 77), ElementsAre("q1"));
  EXPECT_EQ(*data().CountPatients("pa"), 1);
  ASSERT_TRUE(data().GetPatient("pa", "p1").ok());  // the failed update and delete left it alone
  EXPECT_EQ(data().GetPatient("pa", "p1")->identity, Patient("pa", "p1", 1).identity);
}

TEST_P(DataStoreSuite, PatientOfAnAbsentPracticeIsRejected) {
  auto batch = data().BeginPatientBatch();
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ((*batch)->Add(Patient("nowhere", "p1", 1), {}).code(), Code::kNotFound);
}

TEST_P(DataStoreSuite, BatchDestroyedWithoutCommitLeavesNothing) {
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  {
    auto batch = data().BeginPatientBatch();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE((*batch)->Add(Patient("pa", "p1", 1), Entries{{kNameColumn, 5}}).ok());
  }
  EXPECT_THAT(ListIds("pa"), IsEmpty());
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 5), IsEmpty());
  // The store is usable again: the batch released the writer.
  InsertPatients("pa", {"p1"});
  EXPECT_THAT(ListIds("pa"), ElementsAre("p1"));
}

TEST_P(DataStoreSuite, BatchFailingMidwayOnDuplicateIdLeavesNothing) {
  InsertPatients("pa", {"p0"});
  auto batch = data().BeginPatientBatch();
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE((*batch)->Add(Patient("pa", "p1", 1), Entries{{kNameColumn, 5}}).ok());
  ASSERT_TRUE((*batch)->Add(Patient("pa", "p2", 2), Entries{{kNameColumn, 5}}).ok());
  EXPECT_EQ((*batch)->Add(Patient("pa", "p1", 3), Entries{{kNameColumn, 6}}).code(),
            Code::kAlreadyExists);
  // The batch is spent: later adds and the commit fail, and nothing of it is visible.
  EXPECT_FALSE((*batch)->Add(Patient("pa", "p4", 4), {}).ok());
  EXPECT_EQ((*batch)->Commit().code(), Code::kAlreadyExists);
  batch->reset();
  EXPECT_THAT(ListIds("pa"), ElementsAre("p0"));
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 5), IsEmpty());
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 6), IsEmpty());
}

// More rows than a backend sends at once (PostgreSQL: 2,000 per COPY, sent while the next are
// added): list order, seqs and index entries follow the order of the adds across every flush.
TEST_P(DataStoreSuite, ABatchOfManyFlushesKeepsTheOrderOfItsAdds) {
  constexpr int kRows = 4500;
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  auto batch = data().BeginPatientBatch();
  ASSERT_TRUE(batch.ok());
  std::vector<std::string> ids;
  std::vector<std::string> sevens;  // the ids given token 3 in kNameColumn
  for (int i = 0; i < kRows; ++i) {
    ids.push_back("p" + std::to_string(i));
    const uint32_t name = static_cast<uint32_t>((i * 7919) % 7);
    if (name == 3) sevens.push_back(ids.back());
    const Entries index{{kNameColumn, name}, {kBirthColumn, static_cast<uint32_t>(kRows - i)}};
    ASSERT_TRUE((*batch)->Add(Patient("pa", ids.back(), static_cast<uint8_t>(i)), index).ok());
  }
  ASSERT_TRUE((*batch)->Commit().ok());
  batch->reset();
  EXPECT_EQ(ListIds("pa"), ids);
  EXPECT_EQ(*data().FindByToken("pa", kNameColumn, 3), sevens);
  EXPECT_THAT(*data().FindByToken("pa", kBirthColumn, 1), ElementsAre(ids.back()));
  EXPECT_THAT(*data().FindByToken("pa", kBirthColumn, kRows), ElementsAre(ids.front()));
}

// The id of a committed patient, given after several flushes: whenever the backend notices it
// (this Add, a later one, or the commit), nothing of the batch is kept, earlier flushes included.
TEST_P(DataStoreSuite, ATakenIdInALateFlushLeavesNothingOfTheBatch) {
  constexpr int kRows = 5000;
  InsertPatients("pa", {"p0"}, {{kNameColumn, 9}});
  auto batch = data().BeginPatientBatch();
  ASSERT_TRUE(batch.ok());
  Status failed = Status::Ok();
  for (int i = 1; i <= kRows && failed.ok(); ++i) {
    const std::string id = i == 4600 ? "p0" : "n" + std::to_string(i);
    failed = (*batch)->Add(Patient("pa", id, static_cast<uint8_t>(i)), Entries{{kNameColumn, 9}});
  }
  const Status committed = (*batch)->Commit();
  EXPECT_FALSE(committed.ok());
  EXPECT_EQ((failed.ok() ? committed : failed).code(), Code::kAlreadyExists)
      << failed.ToString() << " / " << committed.ToString();
  batch->reset();
  EXPECT_THAT(ListIds("pa"), ElementsAre("p0"));
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 9), ElementsAre("p0"));
  EXPECT_EQ(*data().CountPatients("pa"), 1);
}

TEST_P(DataStoreSuite, BatchRejectsTheIdOfACommittedPatient) {
  InsertPatients("pa", {"p1"});
  InsertPatients("pb", {});
  auto batch = data().BeginPatientBatch();
  ASSERT_TRUE(batch.ok());
  // Reported by this Add, or (a backend that buffers rows) by the commit at the latest.
  const Status added = (*batch)->Add(Patient("pb", "p1", 1), {});
  EXPECT_TRUE(added.ok() || added.code() == Code::kAlreadyExists) << added.ToString();
  EXPECT_EQ((*batch)->Commit().code(), Code::kAlreadyExists);
  batch->reset();
  EXPECT_THAT(ListIds("pa"), ElementsAre("p1"));
  EXPECT_THAT(ListIds("pb"), IsEmpty());
}

TEST_P(DataStoreSuite, ListPatientsPagesInInsertionOrder) {
  InsertPatients("pa", {"zz", "aa", "mm"});
  InsertPatients("pb", {"b1"});
  InsertPatients("pa", {"cc", "bb"});
  EXPECT_THAT(ListIds("pa"), ElementsAre("zz", "aa", "mm", "cc", "bb"));

  std::vector<std::string> paged;
  int64_t after = 0;
  while (true) {
    auto page = data().ListPatients("pa", after, 2);
    ASSERT_TRUE(page.ok());
    ASSERT_LE(page->size(), 2u);
    if (page->empty()) break;
    for (const PatientRow& row : *page) {
      EXPECT_GT(row.seq, after);
      after = row.seq;
      paged.push_back(row.id);
    }
  }
  EXPECT_THAT(paged, ElementsAre("zz", "aa", "mm", "cc", "bb"));
  EXPECT_THAT(*data().ListPatients("pa", 0, 0), IsEmpty());
  EXPECT_THAT(*data().ListPatients("nowhere", 0, 10), IsEmpty());
}

TEST_P(DataStoreSuite, FindByTokenReturnsMatchingPatientsInListOrder) {
  InsertPatients("pa", {"p3"}, {{kNameColumn, 1}, {kBirthColumn, 9}});
  InsertPatients("pa", {"p1"}, {{kNameColumn, 1}, {kBirthColumn, 8}});
  InsertPatients("pa", {"p2"}, {{kNameColumn, 2}, {kBirthColumn, 9}});
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 1), ElementsAre("p3", "p1"));
  EXPECT_THAT(*data().FindByToken("pa", kBirthColumn, 9), ElementsAre("p3", "p2"));
  // The same token in another column is another entry.
  EXPECT_THAT(*data().FindByToken("pa", kBirthColumn, 1), IsEmpty());
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 0xFFFFFFFFu), IsEmpty());
}

TEST_P(DataStoreSuite, DuplicateIndexEntriesOfOnePatientAreOneEntry) {
  InsertPatients("pa", {"p1"}, {{kNameColumn, 4}, {kNameColumn, 4}});
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 4), ElementsAre("p1"));
}

TEST_P(DataStoreSuite, UpdatePatientReplacesEnvelopesAndIndexEntries) {
  InsertPatients("pa", {"p1", "p2"}, {{kNameColumn, 1}});
  const int64_t seq = data().GetPatient("pa", "p1")->seq;
  PatientRow changed = Patient("pa", "p1", 42);
  changed.key_version = 3;
  changed.updated = 999;
  const std::vector<IndexEntry> index = {{kNameColumn, 2}, {kBirthColumn, 3}};
  ASSERT_TRUE(data().UpdatePatient(changed, index).ok());

  auto got = data().GetPatient("pa", "p1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->identity, changed.identity);
  EXPECT_EQ(got->contact, changed.contact);
  EXPECT_EQ(got->insurance, changed.insurance);
  EXPECT_EQ(got->key_version, 3u);
  EXPECT_EQ(got->updated, 999);
  EXPECT_EQ(got->seq, seq);  // list position does not move
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 1), ElementsAre("p2"));
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 2), ElementsAre("p1"));
  EXPECT_THAT(*data().FindByToken("pa", kBirthColumn, 3), ElementsAre("p1"));
  EXPECT_THAT(ListIds("pa"), ElementsAre("p1", "p2"));
}

TEST_P(DataStoreSuite, CountPatientsCountsOnlyThePractice) {
  InsertPatients("pa", {"p1", "p2", "p3"});
  InsertPatients("pb", {"q1"});
  EXPECT_EQ(*data().CountPatients("pa"), 3);
  EXPECT_EQ(*data().CountPatients("pb"), 1);
  EXPECT_EQ(*data().CountPatients("pc"), 0);
}

TEST_P(DataStoreSuite, DeletePatientRemovesIndexEntriesAndNotesButKeepsAppointments) {
  InsertPatients("pa", {"p1", "p2"}, {{kNameColumn, 1}});
  ASSERT_TRUE(data().CreateNote(Note("n1", "pa", "p1", 10)).ok());
  ASSERT_TRUE(data().CreateNote(Note("n2", "pa", "p2", 11)).ok());
  ASSERT_TRUE(data().CreateAppointment(Appointment("a1", "pa", "p1", 500)).ok());

  ASSERT_TRUE(data().DeletePatient("pa", "p1").ok());
  EXPECT_EQ(data().GetPatient("pa", "p1").status().code(), Code::kNotFound);
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 1), ElementsAre("p2"));
  EXPECT_EQ(data().GetNote("pa", "n1").status().code(), Code::kNotFound);
  EXPECT_THAT(*data().ListNotes("pa", "p1"), IsEmpty());
  EXPECT_TRUE(data().GetNote("pa", "n2").ok());
  EXPECT_EQ(data().ListPatientAppointments("pa", "p1")->size(), 1u);
  EXPECT_THAT(ListIds("pa"), ElementsAre("p2"));
  EXPECT_EQ(*data().CountPatients("pa"), 1);
  EXPECT_EQ(data().DeletePatient("pa", "p1").code(), Code::kNotFound);
  // The id is free again, and a new patient goes to the end of the list.
  InsertPatients("pa", {"p1"});
  EXPECT_THAT(ListIds("pa"), ElementsAre("p2", "p1"));
}

TEST_P(DataStoreSuite, SeqOfADeletedLastPatientIsNeverReused) {
  InsertPatients("pa", {"p1", "p2"});
  const int64_t deleted_seq = data().GetPatient("pa", "p2")->seq;
  ASSERT_TRUE(data().DeletePatient("pa", "p2").ok());
  Reopen();
  InsertPatients("pa", {"p3"});
  EXPECT_GT(data().GetPatient("pa", "p3")->seq, deleted_seq);
}

TEST_P(DataStoreSuite, AppointmentsAreListedByStartWithinTheWindow) {
  InsertPatients("pa", {"p1", "p2"});
  InsertPatients("pb", {"q1"});
  ASSERT_TRUE(data().CreateAppointment(Appointment("a3", "pa", "p1", 300)).ok());
  ASSERT_TRUE(data().CreateAppointment(Appointment("a1", "pa", "p2", 100)).ok());
  ASSERT_TRUE(data().CreateAppointment(Appointment("a2", "pa", "p1", 200)).ok());
  ASSERT_TRUE(data().CreateAppointment(Appointment("b1", "pb", "q1", 150)).ok());
  EXPECT_EQ(data().CreateAppointment(Appointment("a1", "pa", "p1", 400)).code(),
            Code::kAlreadyExists);

  auto window = data().ListAppointments("pa", 100, 300);
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->size(), 2u);
  EXPECT_EQ((*window)[0].id, "a1");
  EXPECT_EQ((*window)[1].id, "a2");
  const AppointmentRow want = Appointment("a1", "pa", "p2", 100);
  EXPECT_EQ((*window)[0].patient_id, want.patient_id);
  EXPECT_EQ((*window)[0].practitioner_login, want.practitioner_login);
  EXPECT_EQ((*window)[0].status, want.status);
  EXPECT_EQ((*window)[0].end, want.end);
  EXPECT_EQ((*window)[0].created_by, want.created_by);
  EXPECT_EQ((*window)[0].created, want.created);

  auto of_p1 = data().ListPatientAppointments("pa", "p1");
  ASSERT_TRUE(of_p1.ok());
  ASSERT_EQ(of_p1->size(), 2u);
  EXPECT_EQ((*of_p1)[0].id, "a2");
  EXPECT_EQ((*of_p1)[1].id, "a3");
  EXPECT_THAT(*data().ListPatientAppointments("pb", "p1"), IsEmpty());
}

TEST_P(DataStoreSuite, AppointmentForAPatientOfAnotherPracticeIsNotFound) {
  InsertPatients("pa", {"p1"});
  InsertPatients("pb", {});
  EXPECT_EQ(data().CreateAppointment(Appointment("a1", "pb", "p1", 100)).code(),
            Code::kNotFound);
  EXPECT_THAT(*data().ListAppointments("pb", 0, 1000), IsEmpty());
}

TEST_P(DataStoreSuite, NotesRoundTripWithinTheirPractice) {
  InsertPatients("pa", {"p1"});
  InsertPatients("pb", {"q1"});
  const NoteRow note = Note("n1", "pa", "p1", 20);
  ASSERT_TRUE(data().CreateNote(note).ok());
  ASSERT_TRUE(data().CreateNote(Note("n0", "pa", "p1", 10)).ok());
  EXPECT_EQ(data().CreateNote(Note("n1", "pa", "p1", 30)).code(), Code::kAlreadyExists);
  EXPECT_EQ(data().CreateNote(Note("n2", "pb", "p1", 30)).code(), Code::kNotFound);
  EXPECT_EQ(data().CreateNote(Note("n3", "pa", "absent", 30)).code(), Code::kNotFound);

  auto got = data().GetNote("pa", "n1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->patient_id, "p1");
  EXPECT_EQ(got->author_login, note.author_login);
  EXPECT_EQ(got->category_mask, note.category_mask);
  EXPECT_EQ(got->qualifier_mask, note.qualifier_mask);
  EXPECT_EQ(got->sealed_text, note.sealed_text);
  EXPECT_EQ(got->created, note.created);
  EXPECT_EQ(data().GetNote("pb", "n1").status().code(), Code::kNotFound);

  auto listed = data().ListNotes("pa", "p1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "n0");
  EXPECT_EQ((*listed)[1].id, "n1");
  EXPECT_THAT(*data().ListNotes("pb", "p1"), IsEmpty());
}

TEST_P(DataStoreSuite, SetNoteCategoriesReplacesBothMasks) {
  InsertPatients("pa", {"p1"});
  ASSERT_TRUE(data().CreateNote(Note("n1", "pa", "p1", 20)).ok());
  ASSERT_TRUE(data().SetNoteCategories("n1", 0x80000000u, 0x7).ok());
  auto got = data().GetNote("pa", "n1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->category_mask, 0x80000000u);
  EXPECT_EQ(got->qualifier_mask, 0x7u);
  EXPECT_EQ(data().SetNoteCategories("absent", 1, 1).code(), Code::kNotFound);
}

TEST_P(DataStoreSuite, ForEachNoteVisitsEveryNoteOnceAndMayWrite) {
  InsertPatients("pa", {"p1"});
  InsertPatients("pb", {"q1"});
  constexpr int kNotes = 600;  // more than one page of any reasonable paging
  for (int i = 0; i < kNotes; ++i) {
    const bool in_a = i % 2 == 0;
    ASSERT_TRUE(data()
                    .CreateNote(Note("n" + std::to_string(i), in_a ? "pa" : "pb",
                                     in_a ? "p1" : "q1", i))
                    .ok());
  }
  std::set<std::string> seen;
  Status status = data().ForEachNote([&](const NoteRow& note) -> Status {
    EXPECT_TRUE(seen.insert(note.id).second) << "visited twice";
    return data().SetNoteCategories(note.id, 0x100, 0);
  });
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kNotes));
  EXPECT_EQ(data().GetNote("pb", "n599")->category_mask, 0x100u);
}

TEST_P(DataStoreSuite, ForEachNoteStopsAtTheVisitorsError) {
  InsertPatients("pa", {"p1"});
  ASSERT_TRUE(data().CreateNote(Note("n1", "pa", "p1", 1)).ok());
  ASSERT_TRUE(data().CreateNote(Note("n2", "pa", "p1", 2)).ok());
  int visits = 0;
  Status status = data().ForEachNote([&](const NoteRow&) -> Status {
    ++visits;
    return Internal("classifier failed");
  });
  EXPECT_EQ(status.code(), Code::kInternal);
  EXPECT_EQ(status.message(), "classifier failed");
  EXPECT_EQ(visits, 1);
}

TEST_P(DataStoreSuite, SessionsRoundTripTouchAndRevoke) {
  ASSERT_TRUE(data().CreatePractice(Practice("pa")).ok());
  ASSERT_TRUE(data().CreateUser(User("u1", "pa", "dr.martin")).ok());
  ASSERT_TRUE(data().CreateUser(User("u2", "pa", "dr.durand")).ok());
  ASSERT_TRUE(data().CreateSession(Session(1, "u1")).ok());
  ASSERT_TRUE(data().CreateSession(Session(2, "u1")).ok());
  ASSERT_TRUE(data().CreateSession(Session(3, "u2")).ok());
  EXPECT_EQ(data().CreateSession(Session(1, "u2")).code(), Code::kAlreadyExists);

  auto got = data().GetSession(TokenHash(1));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->token_hash, TokenHash(1));
  EXPECT_EQ(got->user_id, "u1");
  EXPECT_EQ(got->source, "192.0.2.7");
  EXPECT_EQ(got->created, 100);
  EXPECT_EQ(got->expires, 1000);
  EXPECT_FALSE(got->revoked);
  EXPECT_EQ(data().GetSession(TokenHash(9)).status().code(), Code::kNotFound);

  ASSERT_TRUE(data().TouchSession(TokenHash(1), 555).ok());
  EXPECT_EQ(data().GetSession(TokenHash(1))->last_seen, 555);
  EXPECT_EQ(data().TouchSession(TokenHash(9), 1).code(), Code::kNotFound);

  ASSERT_TRUE(data().RevokeSession(TokenHash(3)).ok());
  EXPECT_TRUE(data().GetSession(TokenHash(3))->revoked);
  EXPECT_FALSE(data().GetSession(TokenHash(1))->revoked);
  EXPECT_EQ(data().RevokeSession(TokenHash(9)).code(), Code::kNotFound);

  ASSERT_TRUE(data().RevokeUserSessions("u1").ok());
  EXPECT_TRUE(data().GetSession(TokenHash(1))->revoked);
  EXPECT_TRUE(data().GetSession(TokenHash(2))->revoked);
  ASSERT_TRUE(data().RevokeUserSessions("nobody").ok());
}

AccessCodeRow AccessCode(uint8_t tag, const std::string& practice_id,
                         const std::string& patient_id, UnixMicros expires) {
  return AccessCodeRow{TokenHash(tag), practice_id, patient_id, "secretaire", 100, expires, 0};
}

TEST_P(DataStoreSuite, AccessCodeIsRedeemedOnceBeforeItExpires) {
  InsertPatients("pa", {"p1"});
  ASSERT_TRUE(data().CreateAccessCode(AccessCode(1, "pa", "p1", 1000)).ok());
  EXPECT_EQ(data().CreateAccessCode(AccessCode(1, "pa", "p1", 1000)).code(), Code::kAlreadyExists);

  auto got = data().RedeemAccessCode(TokenHash(1), 500);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->practice_id, "pa");
  EXPECT_EQ(got->patient_id, "p1");
  EXPECT_EQ(got->issued_by, "secretaire");
  EXPECT_EQ(got->expires, 1000);
  EXPECT_EQ(got->used, 500);
  // Used, unknown and expired codes are all NotFound.
  EXPECT_EQ(data().RedeemAccessCode(TokenHash(1), 501).status().code(), Code::kNotFound);
  EXPECT_EQ(data().RedeemAccessCode(TokenHash(9), 501).status().code(), Code::kNotFound);
  ASSERT_TRUE(data().CreateAccessCode(AccessCode(2, "pa", "p1", 1000)).ok());
  EXPECT_EQ(data().RedeemAccessCode(TokenHash(2), 1000).status().code(), Code::kNotFound);
  EXPECT_TRUE(data().RedeemAccessCode(TokenHash(2), 999).ok());
}

TEST_P(DataStoreSuite, AccessCodeNeedsAPatientOfThePracticeAndDiesWithThePatient) {
  InsertPatients("pa", {"p1"});
  InsertPatients("pb", {"p2"});
  EXPECT_EQ(data().CreateAccessCode(AccessCode(1, "pa", "p2", 1000)).code(), Code::kNotFound);
  EXPECT_EQ(data().CreateAccessCode(AccessCode(1, "pa", "p9", 1000)).code(), Code::kNotFound);
  ASSERT_TRUE(data().CreateAccessCode(AccessCode(3, "pa", "p1", 1000)).ok());
  Reopen();
  ASSERT_TRUE(data().DeletePatient("pa", "p1").ok());
  EXPECT_EQ(data().RedeemAccessCode(TokenHash(3), 500).status().code(), Code::kNotFound);
}

TEST_P(DataStoreSuite, CommittedDataSurvivesReopen) {
  InsertPatients("pa", {"p1", "p2"}, {{kNameColumn, 3}});
  ASSERT_TRUE(data().SetMeta("vault_id", "v1").ok());
  ASSERT_TRUE(data().CreateUser(User("u1", "pa", "dr.martin")).ok());
  ASSERT_TRUE(data().CreateSession(Session(1, "u1")).ok());
  ASSERT_TRUE(data().CreateNote(Note("n1", "pa", "p1", 1)).ok());
  ASSERT_TRUE(data().CreateAppointment(Appointment("a1", "pa", "p2", 5)).ok());
  const int64_t seq = data().GetPatient("pa", "p2")->seq;
  Reopen();
  EXPECT_EQ(data().GetMeta("vault_id")->value_or(""), "v1");
  ExpectSamePatient(*data().GetPatient("pa", "p1"), Patient("pa", "p1", 1));
  EXPECT_EQ(data().GetPatient("pa", "p2")->seq, seq);
  EXPECT_THAT(*data().FindByToken("pa", kNameColumn, 3), ElementsAre("p1", "p2"));
  EXPECT_TRUE(data().GetUserByLogin("dr.martin").ok());
  EXPECT_TRUE(data().GetSession(TokenHash(1)).ok());
  EXPECT_TRUE(data().GetNote("pa", "n1").ok());
  EXPECT_EQ(data().ListAppointments("pa", 0, 10)->size(), 1u);
  InsertPatients("pa", {"p3"});  // seq keeps increasing after a reopen
  EXPECT_THAT(ListIds("pa"), ElementsAre("p1", "p2", "p3"));
}

}  // namespace
}  // namespace medvault::store::testing
