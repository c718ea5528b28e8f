//! The REST sink: the plan applied call by call through Canvas's REST API.

use crate::{ChangeResult, Sink, SinkError, SinkProgress, SinkReport};
use rosterbridge_canvas_client::CanvasClient;
use rosterbridge_plan::Plan;
use std::path::Path;

pub struct RestSink {
    pub client: CanvasClient,
    pub account_id: u64,
}

impl RestSink {
    pub fn new(client: CanvasClient, account_id: u64) -> RestSink {
        RestSink { client, account_id }
    }
}

impl Sink for RestSink {
    fn name(&self) -> &'static str {
        "rest"
    }

    fn apply(&mut self, plan: &Plan, _run: i64, _archive: &Path, _progress: &dyn SinkProgress) -> Result<SinkReport, SinkError> {
        // Until the REST calls land, refuse every change rather than pretend.
        let message = "the REST sink is not implemented yet; use [canvas] mode = \"sis_import\"".to_string();
        Ok(SinkReport { results: vec![ChangeResult::Rejected { message }; plan.changes.len()], ..SinkReport::default() })
    }
}
