//! An adjuster's note on an open claim, with a document's name if one came with it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::FieldError;
use shared::api::{AddNoteRequest, CommandResponse};

use crate::api;
use crate::components::failure::Failure;
use crate::components::field::{Field, error_for};
use crate::store::Store;

/// Checked by the rules the relay applies (`AddNoteRequest::validate`), then appended.
#[component]
pub fn NoteForm(
    /// The claim the note is for.
    claim_id: String,
    /// Called once the note is appended, to reload the claim.
    on_added: Callback<()>,
) -> impl IntoView {
    let store = expect_context::<Store>();
    let adjuster = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let document = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let path = format!("/api/claims/{claim_id}/notes");

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        failure.set(None);
        let request = AddNoteRequest {
            adjuster: adjuster.get_untracked(),
            note: note.get_untracked(),
            document: Some(document.get_untracked()).filter(|d| !d.trim().is_empty()),
            // A note does not depend on what the claim looks like; the relay still refuses
            // one on a claim that was closed meanwhile.
            expected_version: None,
        };
        if let Err(problems) = request.validate() {
            errors.set(problems);
            return;
        }
        errors.set(Vec::new());
        busy.set(true);
        let path = path.clone();
        spawn_local(async move {
            match api::post::<_, CommandResponse>(&path, &request).await {
                Ok(done) => {
                    store.record_scripts(format!("POST {path}"), done.redis, done.scripts);
                    note.set(String::new());
                    document.set(String::new());
                    on_added.run(());
                }
                Err(e) if !e.fields.is_empty() => errors.set(e.fields),
                Err(e) => failure.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    // Folded until wanted, so the claim's history stays near the top of the panel; it stays
    // open across reloads of the same claim.
    view! {
        <details class="note-form" data-testid="note-form">
            <summary data-testid="note-form-toggle">"Add a note or document"</summary>
            <form on:submit=submit novalidate>
                <div class="field-row">
                    <Field label="Adjuster" name="adjuster" value=adjuster error=error_for(errors, "adjuster") placeholder="Ana Silva" />
                    <Field label="Document (optional)" name="document" value=document error=error_for(errors, "document") placeholder="invoice-2291.pdf" />
                </div>
                <Field label="Note" name="note" value=note error=error_for(errors, "note") placeholder="Photos of the damage received" multiline=true />
                <button type="submit" data-testid="add-note" disabled=move || busy.get()>"Add note"</button>
                <Failure failure=failure testid="note-failure" />
            </form>
        </details>
    }
}
