//! Canvas conformance tests for the sandbox, driven over real HTTP. Each test is named after
//! the Canvas behaviour it checks (shared/specs/canvas-sis-csv.md, canvas-rest.md).

mod common;

mod oauth;

mod auth_and_throttle;
mod rest_reads;
mod rest_writes;
mod sandbox_extras;
mod sis_accounts_terms;
mod sis_batch_mode;
mod sis_courses_sections;
mod sis_diffing;
mod sis_enrollments;
mod sis_groups;
mod sis_import_api;
mod sis_import_files;
mod sis_import_queue;
mod sis_other_kinds;
mod sis_restore;
mod sis_user_observers;
mod sis_users;
