//! A labelled input with the rule it broke shown beside it, for every form.

use leptos::prelude::*;
use shared::FieldError;

#[component]
pub fn Field(
    /// The visible label.
    label: &'static str,
    /// The request field this input fills; also its id and test id.
    name: &'static str,
    /// The input's text.
    value: RwSignal<String>,
    /// The rule it broke, if any.
    error: Signal<Option<String>>,
    /// Example text shown while empty.
    #[prop(optional)]
    placeholder: &'static str,
    /// Keyboard hint for phones and tablets.
    #[prop(optional)]
    inputmode: &'static str,
    /// A few lines of text rather than one.
    #[prop(optional)]
    multiline: bool,
) -> impl IntoView {
    let error_id = format!("{name}-error");
    let invalid = move || {
        if error.get().is_some() {
            "true"
        } else {
            "false"
        }
    };
    let input = if multiline {
        view! {
            <textarea
                id=name
                name=name
                data-testid=name
                rows="2"
                placeholder=placeholder
                aria-invalid=invalid
                aria-describedby=error_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            ></textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                id=name
                name=name
                data-testid=name
                placeholder=placeholder
                inputmode=inputmode
                aria-invalid=invalid
                aria-describedby=error_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=name>{label}</label>
            {input}
            <span class="field-error" id=error_id data-testid=format!("error-{name}")>
                {move || error.get().unwrap_or_default()}
            </span>
        </div>
    }
}

/// The message for the field `name` among `errors`, as the `error` of a [`Field`].
pub fn error_for(errors: RwSignal<Vec<FieldError>>, name: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || {
        errors.with(|all| {
            all.iter()
                .find(|e| e.field == name)
                .map(|e| e.message.clone())
        })
    })
}
