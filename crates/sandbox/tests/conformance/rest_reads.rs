//! REST reads: id forms, pagination, 404s.

use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn root_account_1_exists_from_the_start() {
    let sb = Sandbox::start().await;
    let a = sb.get("/api/v1/accounts/1").await;
    assert_eq!(a["id"], 1);
    assert!(a["parent_account_id"].is_null());
    assert!(a["root_account_id"].is_null());
    assert_eq!(a["workflow_state"], "active");
}

#[tokio::test]
async fn unknown_id_is_404_with_canvas_body() {
    let sb = Sandbox::start().await;
    for path in [
        "/api/v1/accounts/999",
        "/api/v1/users/999",
        "/api/v1/courses/sis_course_id:NOPE",
        "/api/v1/sections/sis_section_id:NOPE",
        "/api/v1/users/not-an-id",
        "/api/v1/courses/12345678901234567890",
    ] {
        let r = sb.get_raw(path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            serde_json::json!({"errors":[{"message":"The specified resource does not exist."}]}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn unknown_route_is_404() {
    let sb = Sandbox::start().await;
    assert_eq!(sb.get_raw("/api/v1/no_such_thing").await.status(), 404);
}

#[tokio::test]
async fn url_encoded_sis_ids_with_slash_dot_and_unicode_resolve() {
    let sb = Sandbox::start().await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,status\nCS/101.11é,CS,Course,active\n",
    )
    .await;
    let c = sb
        .get("/api/v1/courses/sis_course_id:CS%2F101%2E11%C3%A9")
        .await;
    assert_eq!(c["sis_course_id"], "CS/101.11é");
}

#[tokio::test]
async fn sis_id_values_may_contain_colons() {
    let sb = Sandbox::start().await;
    sb.import(USERS, "user_id,login_id,status\nA:B:C,abc,active\n")
        .await;
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:A:B:C").await["login_id"],
        "abc"
    );
}

#[tokio::test]
async fn sis_login_id_lookup_is_case_insensitive() {
    let sb = Sandbox::start().await;
    sb.import(USERS, "user_id,login_id,status\nU1,JDoe,active\n")
        .await;
    assert_eq!(
        sb.get("/api/v1/users/sis_login_id:jdoe").await["sis_user_id"],
        "U1"
    );
}

#[tokio::test]
async fn deprecated_hex_sis_id_form_is_accepted() {
    let sb = Sandbox::start().await;
    sb.import(USERS, "user_id,login_id,status\nU1,jdoe,active\n")
        .await;
    assert_eq!(
        sb.get("/api/v1/users/hex:sis_login_id:6a646f65").await["sis_user_id"],
        "U1"
    );
}

#[tokio::test]
async fn leading_zeros_and_case_in_sis_ids_are_preserved() {
    let sb = Sandbox::start().await;
    sb.import(
        USERS,
        "user_id,login_id,status\n007,bond,active\n7,seven,active\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:007").await["login_id"],
        "bond"
    );
    assert_eq!(
        sb.get("/api/v1/users/sis_user_id:7").await["login_id"],
        "seven"
    );
}

#[tokio::test]
async fn per_page_defaults_to_10_and_is_capped_at_100() {
    let sb = Sandbox::start().await;
    let mut csv = String::from("course_id,short_name,long_name,status\n");
    for i in 0..120 {
        csv.push_str(&format!("C{i},C{i},Course {i},active\n"));
    }
    sb.import(COURSES, &csv).await;
    assert_eq!(
        sb.get("/api/v1/accounts/1/courses")
            .await
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(
        sb.get("/api/v1/accounts/1/courses?per_page=500")
            .await
            .as_array()
            .unwrap()
            .len(),
        100
    );
    assert_eq!(
        sb.get("/api/v1/accounts/1/courses?per_page=0")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn link_header_lists_current_next_first_last_without_spaces() {
    let sb = Sandbox::start().await;
    let mut csv = String::from("course_id,short_name,long_name,status\n");
    for i in 0..5 {
        csv.push_str(&format!("C{i},C{i},Course {i},active\n"));
    }
    sb.import(COURSES, &csv).await;
    let r = sb
        .get_raw("/api/v1/accounts/1/courses?per_page=2&search_term=course")
        .await;
    let link = r.headers()["link"].to_str().unwrap().to_string();
    let base = &sb.base;
    assert_eq!(
        link,
        format!(
            "<{base}/api/v1/accounts/1/courses?search_term=course&page=1&per_page=2>; rel=\"current\",\
             <{base}/api/v1/accounts/1/courses?search_term=course&page=2&per_page=2>; rel=\"next\",\
             <{base}/api/v1/accounts/1/courses?search_term=course&page=1&per_page=2>; rel=\"first\",\
             <{base}/api/v1/accounts/1/courses?search_term=course&page=3&per_page=2>; rel=\"last\""
        )
    );
}

#[tokio::test]
async fn following_link_next_walks_every_item_once() {
    let sb = Sandbox::start().await;
    let mut csv = String::from("course_id,short_name,long_name,status\n");
    for i in 0..25 {
        csv.push_str(&format!("C{i},C{i},Course {i},active\n"));
    }
    sb.import(COURSES, &csv).await;
    let mut url = sb.url("/api/v1/accounts/1/courses?per_page=7");
    let mut seen = Vec::new();
    for _ in 0..10 {
        let r = sb.http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
        let link = r.headers()["link"].to_str().unwrap().to_string();
        let page: Value = r.json().await.unwrap();
        seen.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|c| c["sis_course_id"].as_str().unwrap().to_string()),
        );
        let next = link.split(',').find(|l| l.ends_with("rel=\"next\""));
        match next {
            Some(n) => url = n[n.find('<').unwrap() + 1..n.find('>').unwrap()].to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    seen.dedup();
    assert_eq!(seen.len(), 25);
}

#[tokio::test]
async fn page_past_the_end_is_an_empty_list_not_404() {
    let sb = Sandbox::start().await;
    let v = sb.get("/api/v1/accounts/1/courses?page=50").await;
    assert_eq!(v, serde_json::json!([]));
}

#[tokio::test]
async fn account_courses_filter_by_sis_term_id() {
    let sb = Sandbox::start().await;
    sb.import("terms.csv", "term_id,name,status\nT1,Fall,active\n")
        .await;
    sb.import(
        COURSES,
        "course_id,short_name,long_name,term_id,status\nC1,C1,One,T1,active\nC2,C2,Two,,active\n",
    )
    .await;
    let v = sb
        .get("/api/v1/accounts/1/courses?enrollment_term_id=sis_term_id:T1")
        .await;
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sis_course_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["C1"]);
}

#[tokio::test]
async fn sub_accounts_lists_direct_children_or_all_with_recursive() {
    let sb = Sandbox::start().await;
    sb.import(
        "accounts.csv",
        "account_id,parent_account_id,name,status\nA1,,One,active\nA2,A1,Two,active\n",
    )
    .await;
    assert_eq!(
        sb.get("/api/v1/accounts/1/sub_accounts")
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        sb.get("/api/v1/accounts/1/sub_accounts?recursive=true")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn course_sections_and_section_enrollments_are_listed() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let s = sb.get("/api/v1/courses/sis_course_id:C1/sections").await;
    assert_eq!(s[0]["sis_section_id"], "S1");
    let section_id = s[0]["id"].as_u64().unwrap();
    let course_id = sb.get("/api/v1/courses/sis_course_id:C1").await["id"]
        .as_u64()
        .unwrap();
    let one = sb
        .get(&format!(
            "/api/v1/courses/{course_id}/sections/{section_id}"
        ))
        .await;
    assert_eq!(one["name"], "Section One");
    let e = sb
        .get(&format!(
            "/api/v1/sections/{section_id}/enrollments?type[]=TeacherEnrollment"
        ))
        .await;
    assert_eq!(e.as_array().unwrap().len(), 1);
    assert_eq!(e[0]["role"], "TeacherEnrollment");
    assert_eq!(e[0]["role_id"], 4);
}

#[tokio::test]
async fn enrollment_lists_filter_by_sis_user_id() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?sis_user_id[]=T1")
        .await;
    let e = e.as_array().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0]["type"], "TeacherEnrollment");
}

#[tokio::test]
async fn student_enrollments_carry_grade_fields() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let e = sb
        .get("/api/v1/courses/sis_course_id:C1/enrollments?type[]=StudentEnrollment")
        .await;
    let g = &e[0]["grades"];
    for k in [
        "current_score",
        "final_score",
        "current_grade",
        "final_grade",
        "override_score",
        "override_grade",
    ] {
        assert!(g.get(k).is_some(), "missing {k}");
    }
}

#[tokio::test]
async fn account_users_search_matches_sis_id_and_login() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb
        .get("/api/v1/accounts/1/users?search_term=teacher1")
        .await;
    assert_eq!(v[0]["sis_user_id"], "T1");
    let r = sb.get_raw("/api/v1/accounts/1/users?search_term=x").await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn user_logins_lists_the_users_logins() {
    let sb = Sandbox::start().await;
    seed(&sb).await;
    let v = sb.get("/api/v1/users/sis_user_id:U1/logins").await;
    assert_eq!(v[0]["unique_id"], "student1");
    assert_eq!(v[0]["sis_user_id"], "U1");
    assert_eq!(v[0]["account_id"], 1);
}
