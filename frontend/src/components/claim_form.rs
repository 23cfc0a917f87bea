use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::FieldError;
use shared::amount::AmountInput;
use shared::api::{CommandResponse, SubmitClaimRequest};

use crate::api;
use crate::store::Store;

/// Customer id, amount and description, checked in the browser by the same rules the relay
/// applies (the `shared` crate), then submitted.
#[component]
pub fn ClaimForm() -> impl IntoView {
    let store = expect_context::<Store>();
    let customer = RwSignal::new("CUST-001".to_owned());
    let amount = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let failure = RwSignal::new(None::<String>);
    let result = RwSignal::new(None::<CommandResponse>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        failure.set(None);
        let request = SubmitClaimRequest {
            customer_id: customer.get_untracked(),
            amount: AmountInput::Text(amount.get_untracked()),
            description: description.get_untracked(),
            currency: None,
            policy_number: None,
        };
        if let Err(problems) = request.validate() {
            errors.set(problems);
            return;
        }
        errors.set(Vec::new());
        busy.set(true);
        spawn_local(async move {
            match api::post::<_, CommandResponse>("/api/claims", &request).await {
                Ok(created) => {
                    store.record_scripts(
                        "POST /api/claims",
                        created.redis.clone(),
                        created.scripts.clone(),
                    );
                    amount.set(String::new());
                    description.set(String::new());
                    result.set(Some(created));
                }
                Err(e) if !e.fields.is_empty() => errors.set(e.fields),
                Err(e) => failure.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    let error_for = move |name: &'static str| {
        move || {
            errors.with(|all| {
                all.iter()
                    .find(|e| e.field == name)
                    .map(|e| e.message.clone())
            })
        }
    };

    view! {
        <form class="claim-form" data-testid="claim-form" on:submit=submit novalidate>
            <Field label="Customer id" name="customer_id" value=customer error=Signal::derive(error_for("customer_id")) />
            <Field label="Amount" name="amount" value=amount error=Signal::derive(error_for("amount")) placeholder="5000.00" inputmode="decimal" />
            <Field label="Description" name="description" value=description error=Signal::derive(error_for("description")) placeholder="Water damage in the kitchen" />
            <button type="submit" data-testid="submit-claim" disabled=move || busy.get()>"Submit claim"</button>
            {move || failure.get().map(|m| view! { <p class="error" role="alert" data-testid="form-failure">{m}</p> })}
            {move || result.get().map(|r| {
                let id = r.claim_id.clone();
                view! {
                    <p class="result" data-testid="submit-result">
                        "Submitted "
                        <a
                            href="#"
                            data-testid="submitted-claim-id"
                            on:click=move |ev| {
                                ev.prevent_default();
                                store.selected.set(Some(id.clone()));
                            }
                        >{r.claim_id.clone()}</a>
                        " as entry "
                        <code data-testid="submitted-entry-id">{r.entry_id.clone()}</code>
                    </p>
                }
            })}
        </form>
    }
}

/// A labelled input with its error shown beside it.
#[component]
fn Field(
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
) -> impl IntoView {
    let error_id = format!("{name}-error");
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <input
                id=name
                name=name
                data-testid=name
                placeholder=placeholder
                inputmode=inputmode
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=error_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <span class="field-error" id=error_id data-testid=format!("error-{name}")>
                {move || error.get().unwrap_or_default()}
            </span>
        </div>
    }
}
