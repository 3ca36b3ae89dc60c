"""What the API reads and writes, one module per resource. Output serializers mirror the
models with organisations by code; input serializers only check shape and types — the rules
themselves stay in the domain functions the pages call, which answer in Chinese. Pilots and
applications are validated by the pages' own forms (api.form_input): their serializers
describe the body for the schema and are not used to validate it. Where a page's form and the
API take the same fields, both take them from one tuple in the form's module
(common.FormInputSerializer)."""
