use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::FieldError;
use shared::amount::AmountInput;
use shared::api::{CommandResponse, SubmitClaimRequest};

use crate::api;
use crate::components::failure::Failure;
use crate::components::field::{Field, error_for};
use crate::store::Store;

/// Customer id, amount, currency, description and policy number, checked in the browser by the
/// same rules the relay applies (the `shared` crate), then submitted.
#[component]
pub fn ClaimForm() -> impl IntoView {
    let store = expect_context::<Store>();
    let customer = RwSignal::new("CUST-001".to_owned());
    let amount = RwSignal::new(String::new());
    let currency = RwSignal::new("USD".to_owned());
    let description = RwSignal::new(String::new());
    let policy = RwSignal::new(String::new());
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
            currency: Some(currency.get_untracked()),
            policy_number: Some(policy.get_untracked()).filter(|p| !p.trim().is_empty()),
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
                    policy.set(String::new());
                    result.set(Some(created));
                }
                Err(e) if !e.fields.is_empty() => errors.set(e.fields),
                Err(e) => failure.set(Some(e.message)),
            }
            busy.set(false);
        });
    };

    view! {
        <form class="claim-form" data-testid="claim-form" on:submit=submit novalidate>
            <Field label="Customer id" name="customer_id" value=customer error=error_for(errors, "customer_id") />
            <div class="field-row">
                <Field label="Amount" name="amount" value=amount error=error_for(errors, "amount") placeholder="5000.00" inputmode="decimal" />
                <Field label="Currency" name="currency" value=currency error=error_for(errors, "currency") placeholder="USD" />
            </div>
            <Field label="Description" name="description" value=description error=error_for(errors, "description") placeholder="Water damage in the kitchen" />
            <Field label="Policy number (optional)" name="policy_number" value=policy error=error_for(errors, "policy_number") placeholder="POL-2024-001" />
            <button type="submit" data-testid="submit-claim" disabled=move || busy.get()>"Submit claim"</button>
            <Failure failure=failure testid="form-failure" />
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
