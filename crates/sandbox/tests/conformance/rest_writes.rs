//! REST writes and the stickiness they create.

use serde_json::{json, Value};

use crate::common::*;

impl Sandbox {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .request(method, self.url(path))
            .bearer_auth(TOKEN)
            .form(form)
            .send()
            .await
            .expect("request")
    }
}

use reqwest::Method;

#[tokio::test]
async fn api_course_rename_is_sticky_and_later_imports_leave_it() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::PUT,
            "/api/v1/courses/sis_course_id:C1",
            &[("course[name]", "Renamed in Canvas")],
        )
        .await;
    assert_eq!(r.status(), 200);
    sb.import(
        COURSES,
        "course_id,short_name,long_name,status\nC1,C1,Course One,active\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["name"],
        "Renamed in Canvas"
    );
}

#[tokio::test]
async fn override_sis_stickiness_import_writes_stuck_fields() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.send(
        Method::PUT,
        "/api/v1/courses/sis_course_id:C1",
        &[("course[name]", "Renamed")],
    )
    .await;
    sb.import_with(
        COURSES,
        "course_id,short_name,long_name,status\nC1,C1,From SIS,active\n",
        &[("override_sis_stickiness", "true")],
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["name"],
        "From SIS"
    );
}

#[tokio::test]
async fn override_with_add_sis_stickiness_makes_imported_fields_sticky() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import_with(
        COURSES,
        "course_id,short_name,long_name,status\nC1,C1,Locked,active\n",
        &[
            ("override_sis_stickiness", "true"),
            ("add_sis_stickiness", "true"),
        ],
    )
    .await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,status\nC1,C1,Plain import,active\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["name"],
        "Locked"
    );
}

#[tokio::test]
async fn override_with_clear_sis_stickiness_unsticks_fields() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.send(
        Method::PUT,
        "/api/v1/courses/sis_course_id:C1",
        &[("course[name]", "Renamed")],
    )
    .await;
    sb.import_with(
        COURSES,
        "course_id,short_name,long_name,status\nC1,C1,Cleared,active\n",
        &[
            ("override_sis_stickiness", "true"),
            ("clear_sis_stickiness", "true"),
        ],
    )
    .await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,status\nC1,C1,Plain import,active\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["name"],
        "Plain import"
    );
}

#[tokio::test]
async fn api_user_rename_is_sticky() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.send(
        Method::PUT,
        "/api/v1/users/sis_user_id:U1",
        &[("user[name]", "Preferred Name")],
    )
    .await;
    sb.import(
        USERS,
        "user_id,login_id,full_name,status\nU1,student1,Legal Name,active\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U1").await["name"],
        "Preferred Name"
    );
}

#[tokio::test]
async fn api_crosslist_makes_section_course_sticky_so_imports_do_not_move_it() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,status\nC2,C2,Two,active\n",
    )
    .await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/sections/sis_section_id:S1/crosslist/sis_course_id:C2",
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["sis_course_id"], "C2");
    assert!(s["nonxlist_course_id"].is_number());
    sb.import(
        "xlists.csv",
        "xlist_course_id,section_id,status\nC2,S1,deleted\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/sections/sis_section_id:S1").await["sis_course_id"],
        "C2"
    );
    let r = sb
        .send(
            Method::DELETE,
            "/api/v1/sections/sis_section_id:S1/crosslist",
            &[],
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["sis_course_id"], "C1");
}

#[tokio::test]
async fn create_course_is_unpublished_unless_offer() {
    let sb = Sandbox::start().await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/courses",
            &[
                ("course[name]", "API course"),
                ("course[sis_course_id]", "API1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["workflow_state"],
        "unpublished"
    );
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/courses",
            &[("course[name]", "Live"), ("offer", "true")],
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["workflow_state"],
        "available"
    );
}

#[tokio::test]
async fn create_course_with_taken_sis_id_is_400() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/courses",
            &[("course[sis_course_id]", "C1")],
        )
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn delete_course_requires_delete_or_conclude_event() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(Method::DELETE, "/api/v1/courses/sis_course_id:C1", &[])
        .await;
    assert_eq!(r.status(), 400);
    let r = sb
        .send(
            Method::DELETE,
            "/api/v1/courses/sis_course_id:C1",
            &[("event", "conclude")],
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"conclude": true}));
    assert_eq!(
        sb.get("/api/v1/courses/sis_course_id:C1").await["workflow_state"],
        "completed"
    );
}

#[tokio::test]
async fn json_request_bodies_are_accepted_like_form_bodies() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .http
        .put(sb.url("/api/v1/courses/sis_course_id:C1"))
        .bearer_auth(TOKEN)
        .json(&json!({"course": {"course_code": "NEW-CODE", "event": "offer"}}))
        .send()
        .await
        .unwrap();
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["course_code"], "NEW-CODE");
    assert_eq!(c["workflow_state"], "available");
}

#[tokio::test]
async fn create_user_with_taken_login_is_400_with_nested_errors() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/users",
            &[("user[name]", "Dup"), ("pseudonym[unique_id]", "STUDENT1")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"]["pseudonym"]["unique_id"][0]["type"], "taken");
    assert_eq!(
        v["errors"]["pseudonym"]["unique_id"][0]["message"],
        "ID already in use for this account and authentication provider"
    );
}

#[tokio::test]
async fn create_user_with_taken_sis_id_is_400_sis_id_in_use() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/users",
            &[
                ("pseudonym[unique_id]", "new1"),
                ("pseudonym[sis_user_id]", "U1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["errors"]["pseudonym"]["sis_user_id"][0]["message"],
        "SIS ID \"U1\" is already in use"
    );
}

#[tokio::test]
async fn create_user_then_enroll_through_the_api() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/users",
            &[
                ("user[name]", "New Person"),
                ("pseudonym[unique_id]", "newp"),
                ("pseudonym[sis_user_id]", "N1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["sortable_name"], "Person, New");
    let r = sb
        .send(
            Method::POST,
            "/api/v1/sections/sis_section_id:S1/enrollments",
            &[
                ("enrollment[user_id]", "sis_user_id:N1"),
                ("enrollment[type]", "TaEnrollment"),
                ("enrollment[enrollment_state]", "active"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["type"], "TaEnrollment");
    assert_eq!(e["enrollment_state"], "active");
    assert!(e["sis_import_id"].is_null());
}

#[tokio::test]
async fn posting_an_existing_enrollment_returns_it_instead_of_a_duplicate() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let post = || {
        sb.send(
            Method::POST,
            "/api/v1/sections/sis_section_id:S1/enrollments",
            &[
                ("enrollment[user_id]", "sis_user_id:U1"),
                ("enrollment[type]", "StudentEnrollment"),
            ],
        )
    };
    let a: Value = post().await.json().await.unwrap();
    let b: Value = post().await.json().await.unwrap();
    assert_eq!(a["id"], b["id"]);
}

#[tokio::test]
async fn api_enrollment_defaults_to_invited() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/courses/sis_course_id:C1/enrollments",
            &[("enrollment[user_id]", "sis_user_id:P1")],
        )
        .await;
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["enrollment_state"], "invited");
    assert_eq!(e["type"], "StudentEnrollment");
}

#[tokio::test]
async fn delete_enrollment_task_conclude_delete_and_reactivate() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    let id = e[0]["id"].as_u64().unwrap();
    let path = format!("/api/v1/courses/sis_course_id:C1/enrollments/{id}");
    let r: Value = sb
        .send(Method::DELETE, &path, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["enrollment_state"], "completed");
    let r: Value = sb
        .send(Method::PUT, &format!("{path}/reactivate"), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["enrollment_state"], "active");
    let r: Value = sb
        .send(Method::DELETE, &path, &[("task", "inactivate")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["enrollment_state"], "inactive");
    let r: Value = sb
        .send(Method::DELETE, &path, &[("task", "delete")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["enrollment_state"], "deleted");
}

#[tokio::test]
async fn put_observee_links_parent_and_enrolls_as_observer() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::PUT,
            "/api/v1/users/sis_user_id:P1/observees/sis_user_id:U1",
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["sis_user_id"], "U1");
    let e = sb.get("/api/v1/users/sis_user_id:P1/enrollments").await;
    assert_eq!(e[0]["type"], "ObserverEnrollment");
    let r = sb
        .send(
            Method::DELETE,
            "/api/v1/users/sis_user_id:P1/observees/sis_user_id:U1",
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = sb
        .send(
            Method::DELETE,
            "/api/v1/users/sis_user_id:P1/observees/sis_user_id:U1",
            &[],
        )
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn user_event_suspend_suspends_every_login() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    sb.send(
        Method::PUT,
        "/api/v1/users/sis_user_id:U1",
        &[("user[event]", "suspend")],
    )
    .await;
    let l = sb.get("/api/v1/users/sis_user_id:U1/logins").await;
    assert_eq!(l[0]["workflow_state"], "suspended");
    // Status was changed through the API, so a plain import does not reactivate it.
    sb.import(USERS, "user_id,login_id,status\nU1,student1,active\n")
        .await;
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U1/logins").await[0]["workflow_state"],
        "suspended"
    );
}

#[tokio::test]
async fn terms_and_sub_accounts_can_be_created_and_updated() {
    let sb = Sandbox::start().await;
    let t: Value = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/terms",
            &[
                ("enrollment_term[name]", "Spring"),
                ("enrollment_term[sis_term_id]", "SP"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["sis_term_id"], "SP");
    let t: Value = sb
        .send(
            Method::PUT,
            "/api/v1/accounts/1/terms/sis_term_id:SP",
            &[("enrollment_term[start_at]", "2027-01-10T00:00:00Z")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["start_at"], "2027-01-10T00:00:00Z");
    let a: Value = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/sub_accounts",
            &[
                ("account[name]", "School"),
                ("account[sis_account_id]", "SCH"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["parent_account_id"], 1);
    let r = sb
        .send(Method::POST, "/api/v1/accounts/1/sub_accounts", &[])
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_term_update_can_set_its_sis_id_unless_another_term_holds_it() {
    let sb = Sandbox::start().await;
    for (name, sis) in [("Fall", ""), ("Winter", "WI")] {
        let mut form = vec![("enrollment_term[name]", name)];
        if !sis.is_empty() {
            form.push(("enrollment_term[sis_term_id]", sis));
        }
        sb.send(Method::POST, "/api/v1/accounts/1/terms", &form)
            .await;
    }
    let terms = sb.get("/api/v1/accounts/1/terms").await;
    let fall = terms["enrollment_terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Fall")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = sb
        .send(
            Method::PUT,
            &format!("/api/v1/accounts/1/terms/{fall}"),
            &[("enrollment_term[sis_term_id]", "WI")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let t: Value = sb
        .send(
            Method::PUT,
            &format!("/api/v1/accounts/1/terms/{fall}"),
            &[("enrollment_term[sis_term_id]", "FA")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["sis_term_id"], "FA");
    assert_eq!(
        sb.get("/api/v1/accounts/1/terms/sis_term_id:FA").await["name"],
        "Fall"
    );
}

#[tokio::test]
async fn deleting_a_sub_account_with_courses_is_409_and_an_empty_one_is_deleted() {
    let sb = Sandbox::start().await;
    sb.import(
        "accounts.csv",
        "account_id,parent_account_id,name,status\nA1,,One,active\nA2,,Two,active\n",
    )
    .await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,account_id,status\nC1,C1,One,A1,active\n",
    )
    .await;
    let r = sb
        .send(
            Method::DELETE,
            "/api/v1/accounts/1/sub_accounts/sis_account_id:A1",
            &[],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "You can't delete a sub-account that has courses in it."})
    );
    let r = sb
        .send(
            Method::DELETE,
            "/api/v1/accounts/1/sub_accounts/sis_account_id:A2",
            &[],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["workflow_state"],
        "deleted"
    );
    assert_eq!(
        sb.get("/api/v1/accounts/1/sub_accounts")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn post_login_adds_a_login_and_rejects_a_taken_unique_id() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/logins",
            &[
                ("user[id]", "sis_user_id:U1"),
                ("login[unique_id]", "stu-alt"),
                ("login[sis_user_id]", "U1-alt"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:U1/logins")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/logins",
            &[
                ("user[id]", "sis_user_id:U1"),
                ("login[unique_id]", "TEACHER1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"]["unique_id"][0]["type"],
        "taken"
    );
}

#[tokio::test]
async fn delete_login_removes_one_of_several_and_refuses_the_last_one() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::POST,
            "/api/v1/accounts/1/logins",
            &[
                ("user[id]", "sis_user_id:U1"),
                ("login[unique_id]", "stu-alt"),
            ],
        )
        .await;
    let alt: Value = r.json().await.unwrap();
    let path = format!("/api/v1/users/sis_user_id:U1/logins/{}", alt["id"]);
    let r = sb.send(Method::DELETE, &path, &[]).await;
    assert_eq!(r.status(), 200);
    let deleted: Value = r.json().await.unwrap();
    assert_eq!(deleted["id"], alt["id"]);
    assert_eq!(deleted["workflow_state"], "deleted");
    let logins = sb.get("/api/v1/users/sis_user_id:U1/logins").await;
    assert_eq!(logins.as_array().unwrap().len(), 1, "{logins}");
    // The student keeps their enrollment: they still have a login.
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?sis_user_id[]=U1")
        .await;
    assert_eq!(e[0]["enrollment_state"], "active");
    // Deleting it again: it is no longer an active login.
    assert_eq!(sb.send(Method::DELETE, &path, &[]).await.status(), 404);
    // The last login cannot go.
    let last = &logins[0]["id"];
    let r = sb
        .send(
            Method::DELETE,
            &format!("/api/v1/users/sis_user_id:U1/logins/{last}"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 400);
    let m = "Users must have at least one login";
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"errors": {"base": [{"attribute": "base", "type": m, "message": m}]}})
    );
}

#[tokio::test]
async fn delete_login_of_another_user_is_404() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let teacher_login = &sb.get("/api/v1/users/sis_user_id:T1/logins").await[0]["id"];
    let r = sb
        .send(
            Method::DELETE,
            &format!("/api/v1/users/sis_user_id:U1/logins/{teacher_login}"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn delete_section_with_enrollments_is_400_and_an_empty_one_is_deleted() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(Method::DELETE, "/api/v1/sections/sis_section_id:S1", &[])
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "You can't delete a section that has enrollments"})
    );
    // Deleted enrollments do not count.
    sb.import(
        ENROLLMENTS,
        "course_id,section_id,user_id,role,status\nC1,S1,U1,student,deleted\nC1,S1,T1,teacher,deleted\n",
    )
    .await;
    let r = sb
        .send(Method::DELETE, "/api/v1/sections/sis_section_id:S1", &[])
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["sis_section_id"], "S1");
    let id = v["id"].as_u64().unwrap();
    assert_eq!(
        sb.get_raw(&format!("/api/v1/sections/{id}")).await.status(),
        404
    );
    let r = sb
        .send(Method::DELETE, &format!("/api/v1/sections/{id}"), &[])
        .await;
    assert_eq!(r.status(), 404, "already deleted");
    let left = sb.get("/api/v1/courses/sis_course_id:C1/sections").await;
    assert!(
        !left.as_array().unwrap().iter().any(|s| s["id"] == id),
        "{left}"
    );
}

#[tokio::test]
async fn uncrosslist_of_a_section_that_is_not_cross_listed_is_400_with_message() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let r = sb
        .send(
            Method::DELETE,
            "/api/v1/sections/sis_section_id:S1/crosslist",
            &[],
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "section is not cross-listed"})
    );
}
