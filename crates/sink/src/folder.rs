//! The folder sink: the delta as a SIS-import zip for upload by hand or script.

use crate::{ChangeResult, Sink, SinkError, SinkProgress, SinkReport};
use rosterbridge_plan::Plan;
use std::path::{Path, PathBuf};

pub struct FolderSink {
    pub out_dir: PathBuf,
}

impl Sink for FolderSink {
    fn name(&self) -> &'static str {
        "folder"
    }

    fn apply(
        &mut self,
        plan: &Plan,
        run: i64,
        _archive: &Path,
        progress: &dyn SinkProgress,
    ) -> Result<SinkReport, SinkError> {
        let mut report = SinkReport::default();
        if !plan.is_empty() {
            progress.update("writing Canvas CSV", None);
            let path = self.out_dir.join(format!("rosterbridge-run-{run}.zip"));
            rosterbridge_canvas::csv::write_zip_file(plan, &path)?;
            report.artifacts.push(path);
        }
        report.results = vec![
            ChangeResult::Applied {
                how: "exported".into(),
                canvas_id: None,
                adopted: false
            };
            plan.changes.len()
        ];
        Ok(report)
    }
}
